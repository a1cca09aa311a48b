using System.Text.Json;
using System.Text.Json.Serialization;
using Hermod.Core.Storage;

namespace Hermod.Hosting.Http.V1;

/// <summary>JSON as the API writes and reads it: snake_case names, nulls left out.</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

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

/// <summary>A recipient of an accepted message: <see cref="Status"/> is queued, or — with cut-through — what its next hop already answered: delivered, failed (refused for good) or deferred, with <see cref="Reply"/>.</summary>
public sealed record RecipientId(string Id, string Address, string Status = "queued", string? Reply = null);

public sealed record SendResponse(string Id, IReadOnlyList<RecipientId> Recipients);

public sealed record RecipientView(string Id, string Address, string State, int Attempts, DateTimeOffset? NextAttempt, string? LastReply);

public sealed record AttemptItem(string RecipientId, DateTimeOffset Started, DateTimeOffset? Ended, string? RemoteHost, int? Code, string? EnhancedCode, string? Text);

public sealed record EventItem(long Cursor, string MessageId, string? RecipientId, string? Recipient, string Type, DateTimeOffset At, string? Detail)
{
    internal static EventItem From(DeliveryEvent e, IReadOnlyDictionary<long, string> recipientIds) =>
        new(e.Id, e.MessageId, e.DeliveryId is { } d && recipientIds.TryGetValue(d, out var rid) ? rid : null, e.Recipient, e.Type, e.At, e.Detail);
}

/// <summary>Tags and metadata as stored with a message.</summary>
public sealed record StoredMetadata(IReadOnlyList<string>? Tags, IReadOnlyDictionary<string, string>? Metadata);

public sealed record MessageView(string Id, string From, long Size, DateTimeOffset Created, IReadOnlyList<string>? Tags,
    IReadOnlyDictionary<string, string>? Metadata, IReadOnlyList<RecipientView> Recipients,
    IReadOnlyList<AttemptItem> Attempts, IReadOnlyList<EventItem> Events);

public sealed record EventPage(IReadOnlyList<EventItem> Events, long Next);
