using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Hosting.Http.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hermod.Hosting.Http.Webhooks;

/// <summary>
/// Posts every delivery event, in order, to each configured webhook as JSON, signed with HMAC-SHA256:
/// <c>X-Hermod-Signature: sha256=HEX</c> over <c>TIMESTAMP "." BODY</c>, with <c>X-Hermod-Timestamp</c> (unix seconds).
/// A receiver that fails (non-2xx, timeout) gets the same event again after a backoff that doubles up to five minutes;
/// the cursor of each webhook is stored, so a restart goes on where it stopped (at-least-once). In a cluster one node
/// posts: the holder of the role <see cref="Role"/>; the others ask for it at every idle check, and the one that takes
/// it goes on from the stored cursors.
/// </summary>
public sealed partial class WebhookDispatcher(HttpOptions options, IApiStore store, IClusterRoles roles, HermodOptions hermod, IHttpClientFactory clients,
    TimeProvider time, ILogger<WebhookDispatcher> logger) : BackgroundService
{
    /// <summary>The role (<see cref="IClusterRoles"/>) of the node that posts the events: one node, so each goes out once and in order.</summary>
    public const string Role = "webhooks";

    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    private sealed class Receiver(WebhookOptions hook)
    {
        public WebhookOptions Hook { get; } = hook;
        public long Cursor { get; set; } = -1;
        public TimeSpan Backoff { get; set; } = TimeSpan.Zero;
        public DateTimeOffset NotBefore { get; set; }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Webhooks.Count == 0)
            return;
        var receivers = options.Webhooks.Select(h => new Receiver(h)).ToList();
        var http = clients.CreateClient(nameof(WebhookDispatcher));
        var held = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                if (!await roles.HoldAsync(Role, stoppingToken))
                {
                    held = false;
                    await Task.Delay(IdleCheck, time, stoppingToken); // another node posts; events need not wake this one
                    continue;
                }
                if (!held)
                {
                    LogRoleTaken(logger, hermod.NodeName);
                    foreach (var receiver in receivers)
                        receiver.Cursor = -1; // read again: another node may have moved it since
                    held = true;
                }
                wait = await SendAsync(http, receivers, stoppingToken);
            }
            catch (StorageUnavailableException e)
            {
                // the database is away: events wait in it, and go out in order once it answers
                LogStoreUnavailable(logger, e, FirstBackoff.TotalSeconds);
                wait = FirstBackoff;
            }
            if (wait > TimeSpan.Zero)
                await store.EventsWritten.WaitAsync(wait, stoppingToken);
        }
    }

    /// <summary>A page of events to each receiver that is not backing off; how long to wait before the next round.</summary>
    private async Task<TimeSpan> SendAsync(HttpClient http, List<Receiver> receivers, CancellationToken stoppingToken)
    {
        var wait = IdleCheck;
        foreach (var receiver in receivers)
        {
            var now = time.GetUtcNow();
            if (receiver.NotBefore > now)
            {
                wait = Min(wait, receiver.NotBefore - now);
                continue;
            }
            if (await DrainAsync(http, receiver, stoppingToken))
                wait = TimeSpan.Zero; // a full page went out: there may be more
            else if (receiver.NotBefore > time.GetUtcNow())
                wait = Min(wait, receiver.NotBefore - time.GetUtcNow());
        }
        return wait;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Sends one page of events; true when the page was full.</summary>
    private async Task<bool> DrainAsync(HttpClient http, Receiver receiver, CancellationToken stoppingToken)
    {
        var url = receiver.Hook.Url.ToString();
        if (receiver.Cursor < 0)
            receiver.Cursor = await store.WebhookCursorAsync(url, stoppingToken);
        var events = await store.EventsAsync(null, receiver.Hook.Tenant, receiver.Cursor, 100, stoppingToken);
        foreach (var e in events)
        {
            if (!await PostAsync(http, receiver.Hook, e, stoppingToken))
            {
                receiver.Backoff = receiver.Backoff == TimeSpan.Zero ? FirstBackoff : Min(receiver.Backoff * 2, MaxBackoff);
                receiver.NotBefore = time.GetUtcNow() + receiver.Backoff;
                return false;
            }
            receiver.Backoff = TimeSpan.Zero;
            receiver.Cursor = e.Id;
            await store.SaveWebhookCursorAsync(url, e.Id, stoppingToken);
        }
        return events.Count == 100;
    }

    private async Task<bool> PostAsync(HttpClient http, WebhookOptions hook, DeliveryEvent e, CancellationToken stoppingToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new WebhookEvent(e.Id, e.Type, e.MessageId, e.Recipient, e.At, e.Detail, e.Tenant), Json.Options);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Hermod-Timestamp", timestamp);
        request.Headers.Add("X-Hermod-Signature", "sha256=" + Sign(hook.Secret, timestamp, body));
        request.Headers.Add("X-Hermod-Event", e.Id.ToString(CultureInfo.InvariantCulture));
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await http.SendAsync(request, timeout.Token);
            if (response.IsSuccessStatusCode)
                return true;
            LogRefused(logger, hook.Url, (int)response.StatusCode, e.Id);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
        {
            LogUnreachable(logger, hook.Url, ex.Message, e.Id);
        }
        return false;
    }

    /// <summary>HMAC-SHA256 over "TIMESTAMP.BODY", lower-case hex: what a receiver recomputes to trust a request.</summary>
    public static string Sign(string secret, string timestamp, byte[] body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), (byte[])[.. Encoding.ASCII.GetBytes(timestamp + "."), .. body]));

    private sealed record WebhookEvent(long Id, string Type, string MessageId, string? Recipient, DateTimeOffset At, string? Detail, string? Tenant);

    [LoggerMessage(4003, LogLevel.Warning, "Webhooks: the store is unavailable; trying again in {Seconds} s")]
    private static partial void LogStoreUnavailable(ILogger logger, Exception e, double seconds);

    [LoggerMessage(4001, LogLevel.Warning, "Webhook {Url} answered {Status} to event {EventId}; it is retried")]
    private static partial void LogRefused(ILogger logger, Uri url, int status, long eventId);

    [LoggerMessage(4002, LogLevel.Warning, "Webhook {Url} could not be reached for event {EventId}: {Reason}; it is retried")]
    private static partial void LogUnreachable(ILogger logger, Uri url, string reason, long eventId);

    [LoggerMessage(4003, LogLevel.Information, "This node ({Node}) posts the webhooks now")]
    private static partial void LogRoleTaken(ILogger logger, string node);
}
