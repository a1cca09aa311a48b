using System.Globalization;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Routing;
using Hermod.Delivery.Transport;

namespace Hermod.Delivery.Targets;

/// <summary>
/// Delivery over SMTP: the built-in "remote" target (the destination domain's MX hosts, or its static route) and
/// "relay" targets (a smarthost: host, port, TLS, AUTH). Recipients are collected, then sent in one transaction;
/// the transaction's per-recipient replies are the result.
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
    public SmtpTarget(string name, ComponentConfig config, Router router, IMessageTransport transport)
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

    public Task<ITargetDelivery> StartAsync(TargetMessage message, CancellationToken cancellationToken) =>
        Task.FromResult<ITargetDelivery>(new Delivery(this, message));

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
            var route = target._relay is { } relay
                ? await target._router.StaticAsync(relay, cancellationToken)
                : await target._router.ResolveAsync(message.Domain, cancellationToken);
            if (route.Failure is { } failure)
                return new TransportResult(_recipients.ToDictionary(r => r.DeliveryId, _ => failure), false) { Held = route.Held };
            var job = new DeliveryJob(message.Message, new RouteKey(target.Name, message.Domain).ToString(), _recipients);
            return await target._transport.SendAsync(job, route, message.WriteContentAsync, cancellationToken);
        }

        public Task CommitAsync(CancellationToken cancellationToken) => Task.CompletedTask; // the 250 to DATA was the commit

        public Task AbortAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
