namespace Hermod.Core.Storage;

/// <summary>A response kept for an Idempotency-Key: the same key and body get it again.</summary>
public sealed record IdempotentResponse(string Tenant, string Key, byte[] RequestHash, int Status, string Body);
