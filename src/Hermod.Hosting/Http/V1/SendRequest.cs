using System.Text.Json.Serialization;

namespace Hermod.Hosting.Http.V1;

/// <summary>An address: "a@b.test", "Name &lt;a@b.test&gt;", or { "address", "name" }.</summary>
public sealed record AddressSpec(string Address, string? Name = null);

/// <summary>A file of the message.</summary>
public sealed record AttachmentSpec(string Filename, string ContentType, string? ContentId = null)
{
    /// <summary>Base64 in the JSON (line breaks allowed); empty when left out, null when it is not base64.</summary>
    [JsonConverter(typeof(Base64Converter))]
    public byte[]? Content { get; init; } = [];
}

/// <summary>The message spec of POST /v1/messages.</summary>
public sealed record SendRequest(
    AddressSpec? From,
    IReadOnlyList<AddressSpec>? To,
    IReadOnlyList<AddressSpec>? Cc,
    IReadOnlyList<AddressSpec>? Bcc,
    IReadOnlyList<AddressSpec>? ReplyTo,
    string? Subject,
    string? Text,
    string? Html,
    IReadOnlyList<AttachmentSpec>? Attachments,
    IReadOnlyDictionary<string, string>? Headers,
    IReadOnlyList<string>? Tags,
    IReadOnlyDictionary<string, string>? Metadata);
