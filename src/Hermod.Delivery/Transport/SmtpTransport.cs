using System.Collections.Concurrent;
using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Routing;
using Hermod.Smtp.Client;
using Hermod.Smtp.Protocol;
using Microsoft.Extensions.Logging;

namespace Hermod.Delivery.Transport;

/// <summary>
/// Delivers over SMTP: tries the route's hops in order, moving on when a host cannot be reached, answers 421, or
/// refuses MAIL with a 4xx; sends all of a job's recipients in one transaction; keeps connections open for reuse.
/// The body streams from the blob store to the socket: memory does not depend on message size.
/// </summary>
public sealed partial class SmtpTransport(HermodOptions options, ILogger<SmtpTransport> logger) : IMessageTransport, IAsyncDisposable
{
    private readonly ConcurrentDictionary<(IPEndPoint, OutboundTls, string?), ConcurrentQueue<(SmtpClientConnection Connection, long IdleSince)>> _idle = new();

    public async Task<TransportResult> SendAsync(DeliveryJob job, RouteResolution route, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken)
    {
        var envelope = job.Message.Envelope;
        var recipients = job.Recipients.Select(r => new EnvelopeRecipient(r.Address, r.Notify, r.OriginalRecipient)).ToList();
        var message = new SmtpOutboundMessage(envelope.Sender, recipients, job.Message.Size,
            writeContent)
        {
            Body = envelope.Body,
            SmtpUtf8 = envelope.SmtpUtf8,
            Ret = envelope.Ret,
            EnvelopeId = envelope.EnvelopeId,
        };

        var failure = new UpstreamReply(null, 0, "4.4.1", "no next hop could be tried");
        foreach (var hop in route.Hops)
        {
            var key = (hop.EndPoint, route.Tls, route.Credentials?.UserName);
            var connection = TakeIdle(key);
            if (connection is null)
            {
                SmtpConnectResult connect;
                try
                {
                    connect = await SmtpClientConnection.ConnectAsync(hop.EndPoint, hop.Name, ClientOptions(route), cancellationToken);
                }
                catch (SmtpClientException e) // refused, unreachable, timed out, TLS handshake failed
                {
                    failure = new UpstreamReply(hop.Name, 0, e.Stage == SmtpClientStage.StartTls ? "4.7.5" : "4.4.1", $"{hop.Name} [{hop.EndPoint}]: {e.Message}");
                    LogHopFailed(logger, envelope.Id, hop.Name, hop.EndPoint, failure.ToString());
                    continue; // the next MX
                }
                if (connect.Connection is null)
                {
                    failure = connect.Reply is { } r && connect.FromServer
                        ? Upstream(hop, r)
                        : new UpstreamReply(hop.Name, 0, connect.Stage == SmtpClientStage.StartTls ? "4.7.5" : "4.4.1",
                            $"{hop.Name} [{hop.EndPoint}]: {connect.Stage} failed{(connect.Reply is { } local ? ": " + local.Text : "")}");
                    LogHopFailed(logger, envelope.Id, hop.Name, hop.EndPoint, failure.ToString());
                    continue; // the next MX
                }
                connection = connect.Connection;
            }

            SmtpTransactionResult result;
            try
            {
                result = await connection.SendAsync(message, cancellationToken);
            }
            catch (SmtpClientException e)
            {
                await connection.DisposeAsync();
                // No reply answered this step: the last reply seen (say, EHLO's 250) must not pass for one.
                failure = new UpstreamReply(hop.Name, 0, e.IsTimeout ? "4.4.2" : "4.4.1",
                    $"{hop.Name} [{hop.EndPoint}]: conversation broke during {e.Stage}: {e.Message}");
                LogHopFailed(logger, envelope.Id, hop.Name, hop.EndPoint, failure.ToString());
                if (e.MayHaveBeenDelivered)
                    break; // another host could deliver a second copy: retry later instead
                continue;
            }

            if (!result.RejectedLocally && result.MailReply.Code is >= 400 and < 500)
            {
                // RFC 5321 5.1: a 421 or a temporary refusal of MAIL sends us to the next MX
                failure = Upstream(hop, result.MailReply);
                await ReleaseAsync(key, connection, reset: true);
                continue;
            }

            var replies = new Dictionary<long, UpstreamReply>(job.Recipients.Count);
            for (var i = 0; i < job.Recipients.Count; i++)
            {
                var r = result.Recipients[i].Reply;
                replies[job.Recipients[i].DeliveryId] = result.RejectedLocally
                    ? new UpstreamReply(null, 0, r.Enhanced.Length > 0 ? r.Enhanced : (r.Code >= 500 ? "5.0.0" : "4.0.0"), $"{r.Text} (refused before sending to {hop.Name})")
                    : Upstream(hop, r);
            }
            var dsn = connection.Capabilities.Dsn;
            await ReleaseAsync(key, connection, reset: result.FinalReply is null || !result.FinalReply.IsPositive);
            return new TransportResult(replies, dsn);
        }
        return new TransportResult(job.Recipients.ToDictionary(r => r.DeliveryId, _ => failure), false);
    }

    private static UpstreamReply Upstream(NextHop hop, SmtpReply reply) => new(hop.Name, reply.Code, reply.Enhanced, reply.Text);

    private SmtpClientOptions ClientOptions(RouteResolution route)
    {
        var t = options.Delivery.Timeouts;
        return new SmtpClientOptions
        {
            HeloName = options.Hostname,
            ConnectTimeout = t.Connect,
            GreetingTimeout = t.Command,
            CommandTimeout = t.Command,
            DataInitiationTimeout = t.Command,
            DataBlockTimeout = t.DataBlock,
            DataTerminationTimeout = t.DataEnd,
            TlsPolicy = route.Tls switch
            {
                OutboundTls.None => TlsPolicy.None,
                OutboundTls.Required => TlsPolicy.Required,
                _ => TlsPolicy.Opportunistic,
            },
            // required: TLS is mandatory, the certificate is not verified (Postfix's "encrypt" level)
            AcceptAnyCertificate = true,
            Credentials = route.Credentials is { } c ? new SmtpClientCredentials(c.UserName, c.Password) : null,
        };
    }

    private SmtpClientConnection? TakeIdle((IPEndPoint, OutboundTls, string?) key)
    {
        if (!_idle.TryGetValue(key, out var queue))
            return null;
        var oldest = Environment.TickCount64 - (long)options.Delivery.ConnectionIdle.TotalMilliseconds;
        while (queue.TryDequeue(out var idle))
        {
            if (idle.Connection.IsUsable && idle.IdleSince >= oldest)
                return idle.Connection;
            _ = CloseAsync(idle.Connection);
        }
        return null;
    }

    private async Task ReleaseAsync((IPEndPoint, OutboundTls, string?) key, SmtpClientConnection connection, bool reset)
    {
        if (connection.IsUsable && connection.MessagesSent < options.Delivery.MaxMessagesPerConnection)
        {
            try
            {
                if (reset)
                    await connection.ResetAsync(CancellationToken.None);
            }
            catch (SmtpClientException)
            {
                await connection.DisposeAsync();
                return;
            }
            if (connection.IsUsable)
            {
                _idle.GetOrAdd(key, _ => new()).Enqueue((connection, Environment.TickCount64));
                return;
            }
        }
        await CloseAsync(connection);
    }

    private static async Task CloseAsync(SmtpClientConnection connection)
    {
        try
        {
            if (connection.IsUsable)
                await connection.QuitAsync(CancellationToken.None);
        }
        catch (SmtpClientException)
        {
            // closing anyway
        }
        await connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var queue in _idle.Values)
            while (queue.TryDequeue(out var idle))
                await CloseAsync(idle.Connection);
    }

    [LoggerMessage(3201, LogLevel.Information, "{MessageId}: next hop {Host} [{EndPoint}] failed: {Reason}")]
    private static partial void LogHopFailed(ILogger logger, string messageId, string host, IPEndPoint endPoint, string reason);
}
