using System.Text.Json.Serialization;

namespace Hermod.Hosting.Http.MiniMailgun;

/// <summary>200 to /send: <c>{"result":"queued","submission_id":"&lt;32 hex&gt;"}</c>.</summary>
internal sealed record QueuedResponse(
    [property: JsonPropertyName("result")] string Result,
    [property: JsonPropertyName("submission_id")] string SubmissionId);

/// <summary>200 to /status: <c>{"result":"success","status":"queued|sent|undeliverable"}</c>.</summary>
internal sealed record StatusResponse(
    [property: JsonPropertyName("result")] string Result,
    [property: JsonPropertyName("status")] string Status);

/// <summary>Every error: <c>{"result":"error","message":"..."}</c> (200 for an unknown submission id, else 4xx / 5xx).</summary>
internal sealed record ErrorResponse(
    [property: JsonPropertyName("result")] string Result,
    [property: JsonPropertyName("message")] string Message);

/// <summary>Source-generated serialization of the Mini-MailGun responses: the shapes above, in that property order.</summary>
[JsonSerializable(typeof(QueuedResponse))]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class MiniMailgunJson : JsonSerializerContext
{
}
