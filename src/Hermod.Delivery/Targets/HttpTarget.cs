using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Transport;
using Microsoft.Extensions.Logging;

namespace Hermod.Delivery.Targets;

/// <summary>
/// Delivers by HTTP POST: one request per message with all its recipients, as <c>multipart/form-data</c> with a part
/// <c>envelope</c> (JSON: id, sender, recipients, domain, source, received) and a part <c>message</c>
/// (<c>message/rfc822</c>, streamed from the store with chunked transfer encoding: memory does not depend on size).
/// Options: <c>url</c> (required, absolute http/https), <c>timeout</c> (default 30s, for the whole request and the
/// response headers), <c>headers</c> (extra request headers, e.g. Authorization).
/// </summary>
/// <remarks>
/// Every recipient gets the same reply: 2xx is 250 2.0.0; 4xx is 550 5.0.0 with the status and up to 200 printable
/// ASCII characters of the response, except 408, 425 and 429, which (like 5xx and anything else) are 451 4.0.0;
/// no answer in time is code 0 with 4.4.2, a failed connection or exchange code 0 with 4.4.1.
/// Redirects are not followed and no proxy is used.
/// </remarks>
public sealed partial class HttpTarget : IDeliveryTarget, IDisposable, IAsyncDisposable
{
    private const int MaxResponseText = 200;
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly Uri _url;
    private readonly string _host;
    private readonly TimeSpan _timeout;
    private readonly Dictionary<string, string> _headers;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger<HttpTarget> _logger;

    /// <summary>Reads and validates the options (problems go to <paramref name="config"/>'s errors); owns one <see cref="HttpClient"/>.</summary>
    public HttpTarget(string name, ConfigSection config, TimeProvider time, ILogger<HttpTarget> logger)
    {
        Name = name;
        _time = time;
        _logger = logger;
        config.Known("type", "url", "timeout", "headers");

        var url = config.RequiredString("url");
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0)
            _url = uri;
        else
        {
            if (url.Length > 0)
                config.Error("url", $"'{url}' is not an absolute http:// or https:// URL");
            _url = new Uri("http://invalid.invalid/");
        }
        _host = _url.Host;
        _timeout = config.Duration("timeout") ?? DefaultTimeout;

        _headers = config.Map("headers") ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        using (var probe = new HttpRequestMessage())
            foreach (var (header, value) in _headers)
            {
                if (header.Equals("Host", StringComparison.OrdinalIgnoreCase) || header.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                    || header.Equals("Connection", StringComparison.OrdinalIgnoreCase))
                    config.Error("headers", $"'{header}' is set by the target");
                else if (value.Any(c => char.IsControl(c) && c != '\t'))
                    config.Error("headers", $"the value of '{header}' contains a control character");
                else if (!probe.Headers.TryAddWithoutValidation(header, value)) // invalid name, or a content header such as Content-Type
                    config.Error("headers", $"'{header}' is not a request header the target can set");
            }

        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // our own timeout tells a slow receiver from a shutdown
        };
    }

    public string Name { get; }

    public Task<ITargetDelivery> StartAsync(TargetMessage message, CancellationToken cancellationToken) =>
        Task.FromResult<ITargetDelivery>(new Delivery(this, message));

    public void Dispose() => _http.Dispose();

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Posts the message once; the reply every recipient gets.</summary>
    private async Task<UpstreamReply> PostAsync(TargetMessage message, IReadOnlyList<QueuedRecipient> recipients, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url);
        foreach (var (header, value) in _headers)
            request.Headers.TryAddWithoutValidation(header, value);
        var envelope = new ByteArrayContent(EnvelopeJson(message, recipients));
        envelope.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Content = new MultipartFormDataContent
        {
            { envelope, "envelope" },
            { new MessageContent(message), "message" },
        };

        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300)
                return new UpstreamReply(_host, new SmtpReply(250, new(2, 0, 0), $"{status} from {_host}"));
            var text = await ResponseTextAsync(response, linked.Token, cancellationToken);
            var reply = status is >= 400 and < 500 and not (408 or 425 or 429)
                ? new UpstreamReply(_host, new SmtpReply(550, new(5, 0, 0), $"{status} from {_host}{text}"))
                : new UpstreamReply(_host, new SmtpReply(451, new(4, 0, 0), $"{status} from {_host}{text}"));
            LogRefused(_logger, message.Message.Envelope.Id, Name, _url, reply.ToString());
            return reply;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var reply = timeout.IsCancellationRequested
                ? UpstreamReply.NoReply(_host, new(4, 4, 2), $"{_host}: no answer within {_timeout.TotalSeconds:0.###} s")
                : UpstreamReply.NoReply(_host, new(4, 4, 1), $"{_host}: {Printable(Reason(e), 300)}");
            LogUnreachable(_logger, message.Message.Envelope.Id, Name, _url, reply.Reply.Text);
            return reply;
        }
    }

    private static string Reason(Exception e) =>
        e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{e.Message} ({inner.Message})" : e.Message;

    /// <summary>": TEXT" from the start of the response body, printable ASCII only; "" when there is none.</summary>
    private static async Task<string> ResponseTextAsync(HttpResponseMessage response, CancellationToken timeout, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4 * MaxResponseText);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(timeout);
            var length = await body.ReadAtLeastAsync(buffer.AsMemory(0, 4 * MaxResponseText), 4 * MaxResponseText, throwOnEndOfStream: false, timeout);
            var text = Printable(Encoding.UTF8.GetString(buffer, 0, length), MaxResponseText);
            return text.Length > 0 ? ": " + text : "";
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return ""; // the status is the answer; its text is a courtesy
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Printable ASCII only (other characters become spaces, runs of spaces one), trimmed, at most <paramref name="max"/> characters.</summary>
    internal static string Printable(string text, int max)
    {
        var result = new StringBuilder(Math.Min(text.Length, max));
        foreach (var c in text)
        {
            if (result.Length == max)
                break;
            var printable = c is >= '!' and <= '~' ? c : ' ';
            if (printable != ' ' || (result.Length > 0 && result[^1] != ' '))
                result.Append(printable);
        }
        return result.ToString().TrimEnd();
    }

    private static byte[] EnvelopeJson(TargetMessage message, IReadOnlyList<QueuedRecipient> recipients)
    {
        var envelope = message.Message.Envelope;
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", envelope.Id);
            json.WriteString("sender", envelope.Sender);
            json.WriteStartArray("recipients");
            foreach (var recipient in recipients)
                json.WriteStringValue(recipient.Address);
            json.WriteEndArray();
            json.WriteString("domain", message.Domain);
            json.WriteStartObject("source");
            json.WriteString("listener", envelope.Source.Listener);
            json.WriteString("client_ip", envelope.Source.ClientAddress.ToString());
            json.WriteString("helo", envelope.Source.Helo);
            json.WriteString("auth_user", envelope.Source.AuthUser);
            json.WriteEndObject();
            json.WriteString("received", message.Message.Created);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The stored message as <c>message/rfc822</c>, written straight to the request stream; length unknown (chunked).</summary>
    private sealed class MessageContent : HttpContent
    {
        private readonly TargetMessage _message;

        public MessageContent(TargetMessage message)
        {
            _message = message;
            Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            _message.WriteContentAsync(stream, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            _message.WriteContentAsync(stream, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private sealed class Delivery(HttpTarget target, TargetMessage message) : ITargetDelivery
    {
        private readonly List<QueuedRecipient> _recipients = [];

        public Task<UpstreamReply?> AddRecipientAsync(QueuedRecipient recipient, CancellationToken cancellationToken)
        {
            _recipients.Add(recipient);
            return Task.FromResult<UpstreamReply?>(null);
        }

        public async Task<TransportResult> BodyAsync(CancellationToken cancellationToken)
        {
            var replies = new Dictionary<long, UpstreamReply>(_recipients.Count);
            if (_recipients.Count == 0)
                return new TransportResult(replies, DsnSupported: false);
            var reply = await target.PostAsync(message, _recipients, cancellationToken);
            foreach (var recipient in _recipients)
                replies[recipient.DeliveryId] = reply;
            return new TransportResult(replies, DsnSupported: false);
        }

        public Task CommitAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task AbortAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [LoggerMessage(3451, LogLevel.Information, "{MessageId}: http target {Target} ({Url}) answered: {Reply}")]
    private static partial void LogRefused(ILogger logger, string messageId, string target, Uri url, string reply);

    [LoggerMessage(3452, LogLevel.Warning, "{MessageId}: http target {Target} ({Url}) failed: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string messageId, string target, Uri url, string reason);
}
