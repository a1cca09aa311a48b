using System.Collections.Frozen;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Storage;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Hermod.Hosting.Http.MiniMailgun;

/// <summary>
/// The Mini-MailGun compatible API: <c>POST /send</c> queues one message per destination domain, <c>POST /status</c>
/// reports the submission's state. Requests are checked in this order: body size (413), client id (401, before
/// anything else about the request), Content-Type (415), fields (400). See docs/http-api.md.
/// </summary>
internal sealed partial class MiniMailgunApi(
    HermodOptions hermod,
    HttpOptions http,
    SmtpOptions smtp,
    IMessageStore store,
    ISubmissionStore submissions,
    PipelineSet pipelines,
    HermodMetrics metrics,
    TimeProvider time,
    ILogger<MiniMailgunApi> logger)
{
    /// <summary>Largest request body accepted.</summary>
    public const int MaxRequestSize = 1 << 20;

    /// <summary>The listener name stored with messages sent through this API (and the metrics' listener label).</summary>
    public const string Listener = "http";

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 16, AllowDuplicateProperties = false };

    /// <summary>Client ids by their SHA-256: a lookup takes the same path whatever part of an id a guess gets right.</summary>
    private readonly FrozenSet<string> _clients = http.MiniMailgun.Clients.Select(Fingerprint).ToFrozenSet(StringComparer.Ordinal);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/send", static (HttpContext context, MiniMailgunApi api) => api.SendAsync(context));
        app.MapPost("/status", static (HttpContext context, MiniMailgunApi api) => api.StatusAsync(context));
    }

    public async Task<IResult> SendAsync(HttpContext context)
    {
        var (request, failure) = await ReadRequestAsync(context);
        if (request is null)
            return failure!;
        using var json = request.Json;
        var root = json.RootElement;

        if (!TryGetString(root, "sender", out var senderText, out failure))
            return failure;
        if (!root.TryGetProperty("recipients", out var list) || list.ValueKind == JsonValueKind.Null)
            return BadRequest("missing field recipients");
        if (list.ValueKind != JsonValueKind.Array)
            return BadRequest("recipients must be a list of addresses");
        if (list.GetArrayLength() == 0)
            return BadRequest("recipients must not be empty");
        if (list.GetArrayLength() > smtp.Limits.MaxRecipients)
            return BadRequest($"too many recipients (at most {smtp.Limits.MaxRecipients})");
        if (!TryGetString(root, "subject", out var subject, out failure) || !TryGetString(root, "body", out var body, out failure))
            return failure;

        if (!PathParser.TryParseMailbox(senderText, out var sender, out _))
            return BadRequest("invalid sender address");
        var recipients = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                return BadRequest("recipients must be a list of addresses");
            if (!PathParser.TryParseMailbox(item.GetString()!, out var recipient, out _))
                return BadRequest("invalid recipient address");
            if (seen.Add(WithLowerDomain(recipient))) // the same mailbox twice gets one copy
                recipients.Add(recipient);
        }
        if (subject.Contains('\r') || subject.Contains('\n'))
            return BadRequest("subject must be a single line");

        var submissionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var now = time.GetUtcNow();
        var message = MiniMailgunMessage.Build(sender, recipients, subject, body, $"{submissionId}@{hermod.Hostname}", now);
        var client = HttpTrace.ClientAddress(context);
        var source = new MessageSource(Listener, client, hermod.Hostname, null, null);
        List<MessageEnvelope> envelopes;
        try
        {
            var pipeline = pipelines.For(http.Pipeline);
            await using var blob = store.CreateBlobWriter();
            string trace;
            using (var sink = new BodySink(pipeline.Processors, new BodyContext(submissionId, hermod.Hostname, "", client,
                context.Request.IsHttps ? "HTTPS" : "HTTP", null, recipients, now), blob, logger))
            {
                await sink.WriteAsync(message.Content, CancellationToken.None);
                var (refused, prefix) = sink.Complete();
                if (refused is not null)
                    return Error(refused.IsPermanent ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status503ServiceUnavailable, $"refused: {refused}");
                trace = prefix;
            }
            var policy = await HttpPolicy.RunAsync(pipeline, new SessionInfo(Listener, client, hermod.Hostname, request.ClientName, context.Request.IsHttps),
                sender, recipients, blob, i => $"recipients[{i}]", "sender", context.RequestAborted);
            if (policy.Refused)
                return Error(policy.Refusal!.IsPermanent ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status503ServiceUnavailable,
                    $"refused{(policy.Field.Length > 0 ? " (" + policy.Field + ")" : "")}: {policy.Refusal}");
            envelopes = [.. policy.Transaction!.Recipients
                .GroupBy(r => r.Route, StringComparer.Ordinal) // one envelope per destination (domain and target), in the order first named
                .Select(g => new MessageEnvelope(QueueId.New(time), policy.Transaction.Sender, [.. g], source,
                    message.EightBit ? BodyType.EightBitMime : BodyType.SevenBit, message.SmtpUtf8, SubmissionId: submissionId,
                    QuarantineReason: policy.Decision!.QuarantineReason))];
            if (envelopes.Count > 0) // else every copy was discarded by configuration
                await submissions.AcceptSubmissionAsync(submissionId, request.ClientId, envelopes,
                    trace + policy.Decision!.AddedFields, blob, CancellationToken.None, policy.Decision.Header);
        }
        catch (StorageUnavailableException e)
        {
            LogStoreUnavailable(logger, e, submissionId);
            return Unavailable(context, "storage unavailable; the message was not queued, try again later");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStoreFailed(logger, e, submissionId);
            return Error(StatusCodes.Status500InternalServerError, "internal error; the message was not queued");
        }
        var listener = new KeyValuePair<string, object?>("listener", Listener);
        metrics.MessagesAccepted.Add(envelopes.Count, listener);
        metrics.BytesAccepted.Add(message.Content.LongLength * envelopes.Count, listener);
        LogQueued(logger, submissionId, request.ClientName, client, recipients.Count, envelopes.Count, string.Join(' ', envelopes.Select(e => e.Id)));
        return Results.Json(new QueuedResponse("queued", submissionId), MiniMailgunJson.Default.QueuedResponse);
    }

    public async Task<IResult> StatusAsync(HttpContext context)
    {
        var (request, failure) = await ReadRequestAsync(context);
        if (request is null)
            return failure!;
        using var json = request.Json;
        if (!TryGetString(json.RootElement, "submission_id", out var id, out failure))
            return failure;
        SubmissionStatus? status;
        try
        {
            status = await submissions.GetSubmissionStatusAsync(id, request.ClientId, context.RequestAborted);
        }
        catch (StorageUnavailableException e)
        {
            LogStoreUnavailable(logger, e, id);
            return Unavailable(context, "storage unavailable, try again later");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStatusFailed(logger, e);
            return Error(StatusCodes.Status500InternalServerError, "internal error");
        }
        if (status is null) // unknown, another client's, or gone with retention: the same answer, so ids cannot be probed
            return Results.Json(new ErrorResponse("error", $"unknown submission id {id}"), MiniMailgunJson.Default.ErrorResponse);
        var name = status.Value switch
        {
            SubmissionStatus.Sent => "sent",
            SubmissionStatus.Undeliverable => "undeliverable",
            _ => "queued",
        };
        return Results.Json(new StatusResponse("success", name), MiniMailgunJson.Default.StatusResponse);
    }

    private sealed record Request(JsonDocument Json, string ClientId, string ClientName);

    /// <summary>Reads the body (bounded), then authenticates: nothing else about the request is looked at before the client id.</summary>
    private async Task<(Request? Request, IResult? Failure)> ReadRequestAsync(HttpContext context)
    {
        var http = context.Request;
        if (http.ContentLength > MaxRequestSize)
            return (null, TooLarge());
        byte[] bytes;
        using (var buffer = new MemoryStream())
        {
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = await http.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + n > MaxRequestSize)
                    return (null, TooLarge());
                buffer.Write(chunk, 0, n);
            }
            bytes = buffer.ToArray();
        }

        JsonDocument? json = null;
        try
        {
            json = JsonDocument.Parse(bytes, JsonOptions);
        }
        catch (JsonException)
        {
            // not JSON: no client id can be read from it
        }
        if (json is null || json.RootElement.ValueKind != JsonValueKind.Object
            || !json.RootElement.TryGetProperty("client_id", out var clientElement) || clientElement.ValueKind != JsonValueKind.String
            || !_clients.Contains(Fingerprint(clientElement.GetString()!)))
        {
            json?.Dispose();
            LogUnauthorized(logger, context.Connection.RemoteIpAddress, context.Request.Path);
            return (null, Error(StatusCodes.Status401Unauthorized, "unknown client_id"));
        }
        var clientId = clientElement.GetString()!;
        if (!IsJson(http.ContentType))
        {
            json.Dispose();
            return (null, Error(StatusCodes.Status415UnsupportedMediaType, "Content-Type must be application/json"));
        }
        return (new Request(json, clientId, "#" + Fingerprint(clientId)[..8]), null);
    }

    /// <summary>application/json, with no charset or charset=utf-8 (RFC 8259 8.1: JSON between systems is UTF-8).</summary>
    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        && (!media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static bool TryGetString(JsonElement root, string name, out string value, out IResult failure)
    {
        value = "";
        failure = null!;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
            failure = BadRequest($"missing field {name}");
        else if (element.ValueKind != JsonValueKind.String)
            failure = BadRequest($"{name} must be a string");
        else
            value = element.GetString()!;
        return failure is null;
    }

    private static string WithLowerDomain(string address)
    {
        var at = address.LastIndexOf('@');
        return address[..(at + 1)] + address[(at + 1)..].ToLowerInvariant();
    }

    private static string Fingerprint(string clientId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(clientId)));

    private static IResult BadRequest(string message) => Error(StatusCodes.Status400BadRequest, message);

    private static IResult TooLarge() => Error(StatusCodes.Status413PayloadTooLarge, $"request body larger than {MaxRequestSize} bytes");

    private static IResult Error(int status, string message) =>
        Results.Json(new ErrorResponse("error", message), MiniMailgunJson.Default.ErrorResponse, statusCode: status);

    /// <summary>The store is out of reach: 503 with Retry-After, a problem document that carries this API's <c>result</c> and <c>message</c> too.</summary>
    private static IResult Unavailable(HttpContext context, string message) =>
        StorageProblem.Create(context, new Dictionary<string, object?> { ["result"] = "error", ["message"] = message });

    [LoggerMessage(4501, LogLevel.Information, "Mini-MailGun submission {SubmissionId} from client {Client} [{Address}]: {Recipients} recipient(s) queued as {Count} message(s): {MessageIds}")]
    private static partial void LogQueued(ILogger logger, string submissionId, string client, IPAddress address, int recipients, int count, string messageIds);

    [LoggerMessage(4502, LogLevel.Debug, "Mini-MailGun request to {Path} from [{Address}] refused: unknown client_id")]
    private static partial void LogUnauthorized(ILogger logger, IPAddress? address, PathString path);

    [LoggerMessage(4503, LogLevel.Error, "Mini-MailGun submission {SubmissionId} could not be stored")]
    private static partial void LogStoreFailed(ILogger logger, Exception e, string submissionId);

    [LoggerMessage(4504, LogLevel.Error, "Mini-MailGun status lookup failed")]
    private static partial void LogStatusFailed(ILogger logger, Exception e);

    [LoggerMessage(4505, LogLevel.Warning, "Mini-MailGun submission {SubmissionId}: the store is unavailable; answered 503")]
    private static partial void LogStoreUnavailable(ILogger logger, Exception e, string submissionId);
}
