namespace Hermod.Hosting.Http.V1;

/// <summary>Tags and metadata as stored with a message.</summary>
public sealed record StoredMetadata(IReadOnlyList<string>? Tags, IReadOnlyDictionary<string, string>? Metadata);
