using System.Globalization;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Routing;
using Hermod.Delivery.Transport;

namespace Hermod.Delivery.Targets;

/// <summary>
/// Delivery over SMTP: the built-in "remote" target (the destination domain's MX hosts, or its static route) and
/// "relay" targets (a smarthost: host, port, TLS, AUTH). Recipients are collected, then sent in one transaction;
/// the transaction's per-recipient replies are the result. An interactive message (cut-through) goes step by step
/// instead: MAIL at start, each RCPT as its recipient is added (its answer is the next hop's), the content at the body.
/// </summary>
public sealed class SmtpTarget : IDeliveryTarget
{
    private readonly Router _router;
    private readonly IMessageTransport _transport;
    private readonly RouteOptions? _relay;

    /// <summary>The "remote" target: next hops by the router.</summary>
    public SmtpTarget(Router router, IMessageTransport transport)
    {
        Name = RouteKey.Remote;
        _router = router;
        _transport = transport;
    }

    /// <summary>A "relay" target: options host (name or address, with :port), tls (none, opportunistic, required), user and password.</summary>
    public SmtpTarget(string name, ConfigSection config, Router router, IMessageTransport transport)
    {
        ArgumentNullException.ThrowIfNull(config);
        Name = name;
        _router = router;
        _transport = transport;
        config.Known("type", "host", "tls", "user", "password");
        var host = config.RequiredString("host");
        var relay = new RouteOptions { Domain = "*", Tls = config.Enum<OutboundTls>("tls"), User = config.String("user"), Password = config.String("password") };
        if ((relay.User is null) != (relay.Password is null))
            config.Error("user", "set both user and password, or neither");
        var colon = host.LastIndexOf(':');
        if (colon > 0 && host.IndexOf(':', StringComparison.Ordinal) == colon || host.StartsWith('[') && colon > host.IndexOf(']', StringComparison.Ordinal))
        {
            if (!int.TryParse(host.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                config.Error("host", $"'{host}' has no valid port");
            relay.Port = port;
            host = host[..colon];
        }
        relay.Host = host.Trim('[', ']');
        if (host.Length > 0 && Uri.CheckHostName(relay.Host) is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
            config.Error("host", $"'{relay.Host}' is not a host name or IP address");
        _relay = relay;
    }

    public string Name { get; }

    public async Task<ITargetDelivery> StartAsync(TargetMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Interactive ? await InteractiveDelivery.StartAsync(this, message, cancellationToken) : new Delivery(this, message);
    }

    private Task<RouteResolution> RouteAsync(TargetMessage message, CancellationToken cancellationToken) =>
        _relay is { } relay ? _router.StaticAsync(relay, cancellationToken) : _router.ResolveAsync(message.Domain, cancellationToken);

    private sealed class Delivery(SmtpTarget target, TargetMessage message) : ITargetDelivery
    {
        private readonly List<QueuedRecipient> _recipients = [];

        public Task<UpstreamReply?> AddRecipientAsync(QueuedRecipient recipient, CancellationToken cancellationToken)
        {
            _recipients.Add(recipient);
            return Task.FromResult<UpstreamReply?>(null);
        }

        public async Task<TransportResult> BodyAsync(CancellationToken cancellationToken)
        {
            var route = await target.RouteAsync(message, cancellationToken);
            if (route.Failure is { } failure)
                return new TransportResult(_recipients.ToDictionary(r => r.DeliveryId, _ => failure), false) { Held = route.Held };
            var job = new DeliveryJob(message.Message, new RouteKey(target.Name, message.Domain).ToString(), _recipients);
            return await target._transport.SendAsync(job, route, message.WriteContentAsync, cancellationToken);
        }

        public Task CommitAsync(CancellationToken cancellationToken) => Task.CompletedTask; // the 250 to DATA was the commit

        public Task AbortAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>
    /// A delivery a client waits for (cut-through): the route is resolved at start; the first recipient opens the
    /// transaction (MAIL and its RCPT in one round trip when the next hop pipelines), each later one's RCPT goes at
    /// once, and each reply is the answer; <see cref="PrepareBody"/> sends DATA ahead of the content; the body sends the
    /// content on the same connection; commit returns the connection to the idle pool, abort (or dispose without
    /// either) resets or closes it. A route or MAIL failure answers every recipient.
    /// </summary>
    private sealed class InteractiveDelivery(SmtpTarget target, TargetMessage message, RouteResolution route) : ITargetDelivery
    {
        private readonly List<QueuedRecipient> _sent = []; // index = the transaction's recipient index
        private readonly CancellationTokenSource _abort = new();
        private InteractiveSmtp? _transaction;
        private bool _ended; // under the lock of _sent, with _transaction

        public static async Task<ITargetDelivery> StartAsync(SmtpTarget target, TargetMessage message, CancellationToken cancellationToken) =>
            new InteractiveDelivery(target, message, await target.RouteAsync(message, cancellationToken));

        private UpstreamReply? Failure => route.Failure ?? _transaction?.Failure;

        public async Task<UpstreamReply?> AddRecipientAsync(QueuedRecipient recipient, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(recipient);
            _sent.Add(recipient);
            if (Failure is { } failure)
                return failure;
            var envelope = new EnvelopeRecipient(recipient.Address, recipient.Notify, recipient.OriginalRecipient);
            UpstreamReply reply;
            if (_transaction is { } transaction)
                reply = await transaction.RcptAsync(envelope, cancellationToken);
            else
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
                transaction = await target._transport.BeginAsync(message.Message, route, envelope, linked.Token);
                bool ended;
                lock (_sent)
                {
                    _transaction = transaction;
                    ended = _ended;
                }
                if (ended)
                {
                    await transaction.AbortAsync(); // ended while it began: nobody else would end it
                    throw new OperationCanceledException("The delivery was ended");
                }
                reply = transaction.First;
            }
            return reply.Reply.Code is >= 200 and < 300 ? null : reply;
        }

        public void PrepareBody() => _transaction?.OpenData();

        public async Task<TransportResult> BodyAsync(CancellationToken cancellationToken)
        {
            if (Failure is { } failure)
                return new TransportResult(_sent.ToDictionary(r => r.DeliveryId, _ => failure), false) { Held = route.Held };
            if (_transaction is null)
                return new TransportResult(new Dictionary<long, UpstreamReply>(), false);
            var replies = await _transaction.DataAsync(message.WriteContentAsync, cancellationToken);
            var result = new Dictionary<long, UpstreamReply>(replies.Count);
            foreach (var (index, reply) in replies)
                result[_sent[index].DeliveryId] = reply;
            return new TransportResult(result, _transaction.DsnSupported);
        }

        public Task CommitAsync(CancellationToken cancellationToken) => EndAsync(abort: false);

        public Task AbortAsync(CancellationToken cancellationToken) => EndAsync(abort: true);

        public async ValueTask DisposeAsync() => await EndAsync(abort: true);

        private async Task EndAsync(bool abort)
        {
            InteractiveSmtp? transaction;
            lock (_sent)
            {
                _ended = true;
                transaction = _transaction;
            }
            if (abort)
                await _abort.CancelAsync(); // a transaction still beginning is given up
            if (transaction is not null)
                await (abort ? transaction.AbortAsync() : transaction.CompleteAsync());
        }
    }
}
