using System.Security.Cryptography;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.Pipeline;
using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hermod.Hosting.Http.V1;

/// <summary>
/// The native API: send a message (raw message/rfc822 with the envelope in the query), read a message with its
/// recipients, attempts and events, read the event feed. Every call needs an API key; a tenant sees only its own.
/// </summary>
internal static partial class MessagesApi
{
    public const string TenantItem = "hermod.tenant";

    public static void Map(WebApplication app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter(AuthenticateAsync).WithTags("v1");
        v1.MapPost("/messages", SendAsync)
            .WithSummary("Send a message")
            .WithDescription("JSON message spec (application/json) or a raw message (message/rfc822 with ?from=&to= in the query). 202 once the message is durable.")
            .Accepts<SendRequest>("application/json", "message/rfc822")
            .Produces<SendResponse>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        v1.MapGet("/messages/{id}", GetAsync)
            .WithSummary("A message: envelope, per-recipient state, attempts with upstream replies, events")
            .Produces<MessageView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        v1.MapGet("/events", EventsAsync)
            .WithSummary("Delivery events after a cursor (accepted, delivered, deferred, failed, cancelled, dsn)")
            .Produces<EventPage>();
    }

    private static async ValueTask<object?> AuthenticateAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        var tenant = header.StartsWith("Bearer ", StringComparison.Ordinal)
            ? await http.RequestServices.GetRequiredService<IApiStore>().AuthenticateAsync(header[7..].Trim(), http.RequestAborted)
            : null;
        if (tenant is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Problems.Create(StatusCodes.Status401Unauthorized, "Unauthorized", "A valid API key is required: Authorization: Bearer <key>.");
        }
        http.Items[TenantItem] = tenant;
        return await next(context);
    }

    private static string Tenant(HttpContext http) => (string)http.Items[TenantItem]!;

    private static async Task<IResult> SendAsync(HttpContext http, HermodOptions hermod, HttpOptions options, IMessageStore store, IApiStore api, PipelineSet pipelines, TimeProvider time,
        ILogger<BodySink> logger, [Microsoft.AspNetCore.Mvc.FromServices] ICutThrough? cutThrough = null)
    {
        var request = http.Request;
        var mediaType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (request.ContentLength > options.Api.MaxRequestSize)
            return Problems.Create(StatusCodes.Status413PayloadTooLarge, "Request too large", $"The limit is {options.Api.MaxRequestSize} bytes.");
        var tenant = Tenant(http);
        var key = request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 200)
            return Problems.Validation(new() { ["Idempotency-Key"] = ["At most 200 characters."] });

        // The request is read whole (bounded by api.max_request_size) to hash it for Idempotency-Key.
        if (await ReadBoundedAsync(request.Body, request.ContentLength, options.Api.MaxRequestSize, http.RequestAborted) is not { } body)
            return Problems.Create(StatusCodes.Status413PayloadTooLarge, "Request too large", $"The limit is {options.Api.MaxRequestSize} bytes.");
        var requestHash = RequestHash(request.QueryString.Value ?? "", mediaType ?? "", body.Span);
        if (key.Length > 0 && await api.FindIdempotentAsync(tenant, key, http.RequestAborted) is { } earlier)
            return Replay(earlier, requestHash);

        Draft draft;
        switch (mediaType)
        {
            case "message/rfc822":
                if (RawDraft(request.Query, body.Span, options) is not { } raw)
                    return Problems.Validation(RawErrors(request.Query, options));
                draft = raw;
                break;
            case "application/json":
                var built = await SpecDraft.BuildAsync(body, options.Api, hermod.Hostname, time, http.RequestAborted);
                if (built.Errors is { } errors)
                    return Problems.Validation(errors);
                draft = built.Draft!;
                break;
            default:
                return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Send application/json (a message spec) or message/rfc822 (a raw message).");
        }

        var id = QueueId.New(time);
        var client = HttpTrace.ClientAddress(http);
        var pipeline = pipelines.For(options.Pipeline);
        await using var blob = store.CreateBlobWriter();
        string trace;
        using (var sink = new BodySink(pipeline.Processors, new BodyContext(id, hermod.Hostname, "", client, request.IsHttps ? "HTTPS" : "HTTP", null,
            draft.Recipients, time.GetUtcNow()), blob, logger))
        {
            await sink.WriteAsync(draft.Content, http.RequestAborted);
            var (refused, prefix) = sink.Complete();
            if (refused is not null)
                return HttpPolicy.Problem(http, new HttpPolicyOutcome(null, null, refused));
            trace = prefix;
        }
        var policy = await HttpPolicy.RunAsync(pipeline, new SessionInfo("http", client, hermod.Hostname, tenant, request.IsHttps),
            draft.Sender, draft.Recipients, blob, i => $"recipients[{i}]", "from", http.RequestAborted);
        if (policy.Refused)
            return HttpPolicy.Problem(http, policy);
        var source = new MessageSource("http", client, hermod.Hostname, null, null, tenant);
        var envelope = new MessageEnvelope(id, policy.Transaction!.Sender, policy.Transaction.Recipients, source,
            BodyType.EightBitMime, draft.SmtpUtf8, Metadata: draft.Metadata, QuarantineReason: policy.Decision!.QuarantineReason);
        trace += policy.Decision!.AddedFields;
        CutThroughAttempt? attempt = null;
        if (cutThrough?.Begin(new CutThroughStart(id, envelope.Sender, source, envelope.Body, envelope.SmtpUtf8, DsnReturn.Default, null, draft.Content.Length,
                Submission: true, options.CutThrough, KeepRefused: true)) is { } cut)
        {
            // the same window as SMTP submission: the response tells what the next hops already said
            await using (cut)
            {
                for (var i = 0; i < envelope.Recipients.Count; i++)
                    await cut.AddRecipientAsync([envelope.Recipients[i]], i, http.RequestAborted);
                var outcome = await cut.DataAsync(PendingContent.Writer(trace, policy.Decision.Header, blob), draft.Content.Length, envelope.Recipients, http.RequestAborted);
                if (outcome.Refusal is { } refused) // every next hop refused it for good: nothing is kept
                    return HttpPolicy.Problem(http, new HttpPolicyOutcome(null, null, refused));
                attempt = outcome.Attempt;
            }
        }
        var response = new SendResponse(id, [.. envelope.Recipients.Select((r, i) => RecipientStatus(id, i, r.Address, attempt))]);
        var responseJson = System.Text.Json.JsonSerializer.Serialize(response, Json.Options);
        try
        {
            if (envelope.Recipients.Count > 0) // else every copy was discarded by configuration
                await api.AcceptAsync(envelope, trace, blob, key.Length > 0 ? new IdempotentResponse(tenant, key, requestHash, StatusCodes.Status202Accepted, responseJson) : null,
                    CancellationToken.None, policy.Decision.Header, attempt);
        }
        catch (Exception e) when (key.Length > 0 && e is not StorageUnavailableException)
        {
            // the same key raced in from another request: its first answer stands
            if (await api.FindIdempotentAsync(tenant, key, CancellationToken.None) is { } concurrent)
                return Replay(concurrent, requestHash);
            throw;
        }
        return Results.Text(responseJson, "application/json", Encoding.UTF8, StatusCodes.Status202Accepted);
    }

    internal static string RecipientIdOf(string messageId, int index) => $"{messageId}.{index + 1}";

    /// <summary>A recipient of the 202: queued, or what its next hop already answered (delivered, failed, deferred).</summary>
    private static RecipientId RecipientStatus(string id, int index, string address, CutThroughAttempt? attempt) =>
        attempt?.Outcomes.FirstOrDefault(o => o.DeliveryId == index) is { } outcome
            ? new RecipientId(RecipientIdOf(id, index), address, outcome.Status.ToString().ToLowerInvariant(), outcome.Reply.ToString())
            : new RecipientId(RecipientIdOf(id, index), address, "queued", null);

    private static IResult Replay(IdempotentResponse earlier, byte[] requestHash) =>
        CryptographicOperations.FixedTimeEquals(earlier.RequestHash, requestHash)
            ? Results.Text(earlier.Body, "application/json", Encoding.UTF8, earlier.Status)
            : Problems.Create(StatusCodes.Status422UnprocessableEntity, "Idempotency-Key reused", "This Idempotency-Key was used with a different request.");

    /// <summary>
    /// The body, or null past the limit. A declared length (which the server holds the client to) is read into an array
    /// of that size, handed on as it is: read into a growing stream and copied out, a 27 MB request had left about
    /// twice its size behind. Past <see cref="UpFront"/> the array grows with what arrives, and takes its declared size
    /// once half of it is in: a client that declares the limit and sends slowly holds at most twice what it sent. A body
    /// without a declared length (chunked) is read into a stream that grows.
    /// </summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadBoundedAsync(Stream body, long? declared, long limit, CancellationToken cancellationToken)
    {
        if (declared is { } length)
        {
            if (length > limit)
                return null;
            var whole = new byte[Math.Min(length, UpFront)];
            var read = 0;
            while (true)
            {
                await body.ReadExactlyAsync(whole.AsMemory(read), cancellationToken);
                read = whole.Length;
                if (read == length)
                    return whole;
                var grown = new byte[read >= length / 2 ? length : Math.Min(length, 2L * read)];
                whole.CopyTo(grown, 0);
                whole = grown;
            }
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + n > limit)
                return null;
            buffer.Write(chunk, 0, n);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>What a declared request length gets at once, before any of it arrived.</summary>
    private const int UpFront = 1 << 20;

    /// <summary>What makes two requests the same for Idempotency-Key: the query, the media type and the body (hashed in place).</summary>
    private static byte[] RequestHash(string query, string mediaType, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(query));
        hash.AppendData(Encoding.UTF8.GetBytes(mediaType));
        hash.AppendData(body);
        return hash.GetHashAndReset();
    }

    /// <summary>What is sent: envelope and the finished message.</summary>
    internal sealed record Draft(string Sender, IReadOnlyList<string> Recipients, ReadOnlyMemory<byte> Content, bool SmtpUtf8, string? Metadata = null);

    private static IEnumerable<string> ListParameter(IQueryCollection query, string name) =>
        query[name].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static Dictionary<string, string[]> RawErrors(IQueryCollection query, HttpOptions options)
    {
        var errors = new Dictionary<string, string[]>();
        var from = query["from"].ToString();
        if (from.Length > 0 && !PathParser.TryParseMailbox(from, out _, out _))
            errors["from"] = [$"'{from}' is not an email address."];
        else if (!query.ContainsKey("from"))
            errors["from"] = ["Required (use an empty value for the null sender)."];
        var to = ListParameter(query, "to").ToList();
        if (to.Count == 0)
            errors["to"] = ["At least one recipient is required."];
        else if (to.Count > options.Api.MaxRecipients)
            errors["to"] = [$"At most {options.Api.MaxRecipients} recipients."];
        for (var i = 0; i < to.Count; i++)
            if (!PathParser.TryParseMailbox(to[i], out _, out _))
                errors[$"to[{i}]"] = [$"'{to[i]}' is not an email address."];
        return errors;
    }

    private static Draft? RawDraft(IQueryCollection query, ReadOnlySpan<byte> body, HttpOptions options)
    {
        if (RawErrors(query, options).Count > 0)
            return null;
        var to = ListParameter(query, "to").ToList();
        var from = query["from"].ToString();
        var content = NormalizeLineEnds(body);
        return new Draft(from, to, content, !Ascii.IsValid(from) || to.Any(t => !Ascii.IsValid(t)));
    }

    /// <summary>Bare LF (or CR) line ends of an uploaded message become CRLF, as SMTP requires.</summary>
    private static ReadOnlyMemory<byte> NormalizeLineEnds(ReadOnlySpan<byte> body)
    {
        var output = new MemoryStream(body.Length + body.Length / 50);
        for (var i = 0; i < body.Length; i++)
        {
            var b = body[i];
            if (b == '\r')
            {
                output.Write("\r\n"u8);
                if (i + 1 < body.Length && body[i + 1] == '\n')
                    i++;
            }
            else if (b == '\n')
                output.Write("\r\n"u8);
            else
                output.WriteByte(b);
        }
        if (output.Length > 0 && body[^1] is not ((byte)'\n' or (byte)'\r'))
            output.Write("\r\n"u8);
        return output.GetBuffer().AsMemory(0, (int)output.Length);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, IMessageStore store, IApiStore api)
    {
        var message = await store.GetAsync(id, http.RequestAborted);
        if (message is null || message.Envelope.Source.Tenant != Tenant(http))
            return Problems.Create(StatusCodes.Status404NotFound, "Not found", $"No message {id}.");
        var index = message.Deliveries.Select((d, i) => (d.Id, i)).ToDictionary(x => x.Id, x => RecipientIdOf(id, x.i));
        var attempts = await api.AttemptsAsync(id, http.RequestAborted);
        var events = await api.EventsAsync(id, null, 0, 10_000, http.RequestAborted);
        var metadata = message.Envelope.Metadata is { } json ? System.Text.Json.JsonSerializer.Deserialize<StoredMetadata>(json, Json.Options) : null;
        return Results.Json(new MessageView(
            id, message.Envelope.Sender, message.Size, message.Created, metadata?.Tags, metadata?.Metadata,
            [.. message.Deliveries.Select(d => new RecipientView(index[d.Id], d.Recipient, d.State.ToString().ToLowerInvariant(), d.Attempts,
                d.NextAttempt, d.LastReply?.ToString()))],
            [.. attempts.Select(a => new AttemptItem(index[a.DeliveryId], a.Started, a.Ended, a.RemoteHost, a.Code, a.Enhanced, a.Text))],
            [.. events.Select(e => EventItem.From(e, index))]), Json.Options);
    }

    private static async Task<IResult> EventsAsync(HttpContext http, IApiStore api, IMessageStore store, long? after, int? limit)
    {
        var take = Math.Clamp(limit ?? 100, 1, 1000);
        var events = await api.EventsAsync(null, Tenant(http), after ?? 0, take, http.RequestAborted);
        var items = new List<EventItem>(events.Count);
        foreach (var group in events.GroupBy(e => e.MessageId))
        {
            var message = await store.GetAsync(group.Key, http.RequestAborted);
            var index = message?.Deliveries.Select((d, i) => (d.Id, i)).ToDictionary(x => x.Id, x => RecipientIdOf(group.Key, x.i)) ?? [];
            items.AddRange(group.Select(e => EventItem.From(e, index)));
        }
        items.Sort((a, b) => a.Cursor.CompareTo(b.Cursor));
        return Results.Json(new EventPage(items, events.Count > 0 ? events[^1].Id : after ?? 0), Json.Options);
    }
}
