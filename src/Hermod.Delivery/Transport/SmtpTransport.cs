using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Routing;
using Hermod.Smtp.Client;
using Microsoft.Extensions.Logging;

namespace Hermod.Delivery.Transport;

/// <summary>
/// Delivers over SMTP: tries the route's hops in order, moving on when a host cannot be reached, answers 421, or
/// refuses MAIL with a 4xx; sends all of a job's recipients in one transaction; keeps connections open for reuse.
/// The body streams from the blob store to the socket: memory does not depend on message size.
/// <see cref="BeginAsync"/> runs a transaction step by step instead, for a client that waits (cut-through).
/// </summary>
public sealed partial class SmtpTransport(HermodOptions hermod, DeliveryOptions delivery, ILogger<SmtpTransport> logger) : IMessageTransport, IAsyncDisposable
{
    private readonly ConcurrentDictionary<(IPEndPoint, OutboundTls, string?), ConcurrentQueue<(SmtpClientConnection Connection, long IdleSince)>> _idle = new();
    private volatile bool _disposed;

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

        var failure = NoHop;
        foreach (var hop in route.Hops)
        {
            var key = (hop.EndPoint, route.Tls, route.Credentials?.UserName);
            var connection = TakeIdle(key);
            if (connection is null)
            {
                (connection, var refused) = await ConnectAsync(hop, route, envelope.Id, cancellationToken);
                if (connection is null)
                {
                    failure = refused!;
                    continue; // the next MX
                }
            }

            SmtpTransactionResult result;
            try
            {
                result = await connection.SendAsync(message, cancellationToken);
            }
            catch (SmtpClientException e)
            {
                await connection.DisposeAsync();
                failure = Broke(hop, e);
                LogHopFailed(logger, envelope.Id, hop.Name, hop.EndPoint, failure.ToString());
                if (e.MayHaveBeenDelivered)
                    break; // another host could deliver a second copy: retry later instead
                continue;
            }
            catch
            {
                await connection.DisposeAsync(); // cancelled, or the content source failed: out of step, never reused
                throw;
            }

            if (!result.RejectedLocally && result.MailReply.IsTransient)
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
                replies[job.Recipients[i].DeliveryId] = result.RejectedLocally ? Local(hop, r) : Upstream(hop, r);
            }
            var dsn = connection.Capabilities.Dsn;
            await ReleaseAsync(key, connection, reset: result.FinalReply is null || !result.FinalReply.IsPositive);
            return new TransportResult(replies, dsn);
        }
        return new TransportResult(job.Recipients.ToDictionary(r => r.DeliveryId, _ => failure), false);
    }

    /// <summary>
    /// Begins a transaction for a client that waits (cut-through): MAIL (SIZE= only when the message's size is known,
    /// above 0) and the first recipient's RCPT — in one round trip when the server offers PIPELINING — on an idle
    /// connection to a hop or a new one, the hops tried in order as <see cref="SendAsync"/> does —
    /// the next one when a host cannot be reached, answers 421 or refuses MAIL with a 4xx; a 5xx to MAIL (or a local
    /// refusal, such as SMTPUTF8 not offered) ends the attempt. An idle connection that turns out closed (it breaks,
    /// not times out, before MAIL is answered) is replaced by a new one to the same hop. Never throws for a failed delivery: the returned transaction's
    /// <see cref="InteractiveSmtp.Failure"/> says why MAIL did not go through (a route with a failure gives that failure).
    /// </summary>
    /// <param name="message">The envelope (sender, body type, SMTPUTF8, RET, ENVID) and size (0: unknown); recipients and deliveries are not used.</param>
    /// <param name="first">The first recipient: its answer is <see cref="InteractiveSmtp.First"/>.</param>
    public async Task<InteractiveSmtp> BeginAsync(StoredMessage message, RouteResolution route, EnvelopeRecipient first, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(first);
        if (route.Failure is { } unroutable)
            return InteractiveSmtp.Failed(unroutable);
        var envelope = message.Envelope;
        var mail = new SmtpOutboundMessage(envelope.Sender, message.Size)
        {
            Body = envelope.Body,
            SmtpUtf8 = envelope.SmtpUtf8,
            Ret = envelope.Ret,
            EnvelopeId = envelope.EnvelopeId,
        };

        var failure = NoHop;
        foreach (var hop in route.Hops)
        {
            var key = (hop.EndPoint, route.Tls, route.Credentials?.UserName);
            var connection = TakeIdle(key);
            var pooled = connection is not null;
            while (true)
            {
                if (connection is null)
                {
                    (connection, var refused) = await ConnectAsync(hop, route, envelope.Id, cancellationToken);
                    if (connection is null)
                    {
                        failure = refused!;
                        break; // the next MX
                    }
                }
                try
                {
                    if (connection.LocalRefusal(mail) is { } local)
                    {
                        await ReleaseAsync(key, connection, reset: false);
                        return InteractiveSmtp.Failed(Local(hop, local));
                    }
                    var smtpUtf8 = mail.SmtpUtf8 || !Ascii.IsValid(mail.Sender);
                    var unsendable = InteractiveSmtp.Unsendable(first, smtpUtf8, hop);
                    var (reply, rcpt) = await connection.MailAsync(mail, unsendable is null ? first : null, cancellationToken);
                    if (reply.Code is >= 200 and < 300)
                        return await InteractiveSmtp.OpenedAsync(this, key, hop, connection, envelope.Id, smtpUtf8, unsendable ?? Upstream(hop, rcpt!));
                    failure = Upstream(hop, reply);
                    await ReleaseAsync(key, connection, reset: false); // a refused MAIL leaves no transaction open
                    if (reply.Code >= 500)
                        return InteractiveSmtp.Failed(failure);
                    LogHopFailed(logger, envelope.Id, hop.Name, hop.EndPoint, failure.ToString());
                    break; // RFC 5321 5.1: a 421 or a temporary refusal of MAIL sends us to the next MX
                }
                catch (SmtpClientException e)
                {
                    await connection.DisposeAsync();
                    connection = null;
                    if (pooled && !e.IsTimeout)
                    {
                        pooled = false; // closed by the server while idle: the hop itself may be fine
                        continue;
                    }
                    failure = Broke(hop, e);
                    LogHopFailed(logger, envelope.Id, hop.Name, hop.EndPoint, failure.ToString());
                    break;
                }
                catch
                {
                    await connection.DisposeAsync(); // cancelled
                    throw;
                }
            }
        }
        return InteractiveSmtp.Failed(failure);
    }

    private static readonly UpstreamReply NoHop = UpstreamReply.NoReply(null, new(4, 4, 1), "no next hop could be tried");

    /// <summary>A new connection to <paramref name="hop"/>, or why there is none (unreachable, refused, TLS failed).</summary>
    private async Task<(SmtpClientConnection? Connection, UpstreamReply? Failure)> ConnectAsync(NextHop hop, RouteResolution route, string messageId,
        CancellationToken cancellationToken)
    {
        SmtpConnectResult connect;
        try
        {
            connect = await SmtpClientConnection.ConnectAsync(hop.EndPoint, hop.Name, ClientOptions(route), cancellationToken);
        }
        catch (SmtpClientException e) // refused, unreachable, timed out, TLS handshake failed
        {
            var broke = UpstreamReply.NoReply(hop.Name, e.Stage == SmtpClientStage.StartTls ? new(4, 7, 5) : new(4, 4, 1), $"{hop.Name} [{hop.EndPoint}]: {e.Message}");
            LogHopFailed(logger, messageId, hop.Name, hop.EndPoint, broke.ToString());
            return (null, broke);
        }
        if (connect.Connection is { } connection)
            return (connection, null);
        var failure = connect.Reply is { } r && connect.FromServer
            ? Upstream(hop, r)
            : UpstreamReply.NoReply(hop.Name, connect.Stage == SmtpClientStage.StartTls ? new(4, 7, 5) : new(4, 4, 1),
                $"{hop.Name} [{hop.EndPoint}]: {connect.Stage} failed{(connect.Reply is { } local ? ": " + local.Text : "")}");
        LogHopFailed(logger, messageId, hop.Name, hop.EndPoint, failure.ToString());
        return (null, failure);
    }

    internal static UpstreamReply Upstream(NextHop hop, SmtpReply reply) => new(hop.Name, reply);

    /// <summary>A refusal made by the client before anything was sent (SMTPUTF8 not offered, over the server's SIZE).</summary>
    internal static UpstreamReply Local(NextHop hop, SmtpReply reply) =>
        UpstreamReply.NoReply(null, !reply.Enhanced.IsNone ? reply.Enhanced : reply.Code >= 500 ? new(5, 0, 0) : new(4, 0, 0), $"{reply.Text} (refused before sending to {hop.Name})");

    /// <summary>No reply answered this step: the last reply seen (say, EHLO's 250) must not pass for one.</summary>
    internal static UpstreamReply Broke(NextHop hop, SmtpClientException e) =>
        UpstreamReply.NoReply(hop.Name, e.IsTimeout ? new(4, 4, 2) : new(4, 4, 1), $"{hop.Name} [{hop.EndPoint}]: conversation broke during {e.Stage}: {e.Message}");

    private SmtpClientOptions ClientOptions(RouteResolution route)
    {
        var t = delivery.Timeouts;
        return new SmtpClientOptions
        {
            HeloName = hermod.Hostname,
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
        var oldest = Environment.TickCount64 - (long)delivery.ConnectionIdle.TotalMilliseconds;
        while (queue.TryDequeue(out var idle))
        {
            if (idle.Connection.IsUsable && idle.IdleSince >= oldest)
                return idle.Connection;
            _ = CloseAsync(idle.Connection);
        }
        return null;
    }

    /// <summary>
    /// Back to the idle pool when usable (after RSET if <paramref name="reset"/>), else closed. Never throws for the
    /// server's sake. A connection retired after its last message says QUIT on its own: nobody waits for that.
    /// </summary>
    internal async Task ReleaseAsync((IPEndPoint, OutboundTls, string?) key, SmtpClientConnection connection, bool reset)
    {
        if (!_disposed && connection.IsUsable && connection.MessagesSent < delivery.MaxMessagesPerConnection)
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
            if (connection.IsUsable && !_disposed)
            {
                _idle.GetOrAdd(key, _ => new()).Enqueue((connection, Environment.TickCount64));
                return;
            }
        }
        if (_disposed)
            await CloseAsync(connection);
        else
            _ = CloseAsync(connection);
    }

    /// <summary>QUIT when usable, then closed; never throws.</summary>
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
        _disposed = true;
        foreach (var queue in _idle.Values)
            while (queue.TryDequeue(out var idle))
                await CloseAsync(idle.Connection);
    }

    /// <summary>Logs a hop that failed a transaction begun by <see cref="BeginAsync"/>.</summary>
    internal void HopFailed(string messageId, NextHop hop, UpstreamReply reply) => LogHopFailed(logger, messageId, hop.Name, hop.EndPoint, reply.ToString());

    [LoggerMessage(3201, LogLevel.Information, "{MessageId}: next hop {Host} [{EndPoint}] failed: {Reason}")]
    private static partial void LogHopFailed(ILogger logger, string messageId, string host, IPEndPoint endPoint, string reason);
}
