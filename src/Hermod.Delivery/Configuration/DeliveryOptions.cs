namespace Hermod.Delivery.Configuration;

/// <summary>
/// Delivery, as the keys delivery:, routes:, retention: and targets: configure it: the queue runner and its retries,
/// the SMTP client, static routes, how long finished messages are kept, and the configured targets.
/// </summary>
public sealed class DeliveryOptions
{
    /// <summary>false: nothing leaves the queue (no queue runner, no cut-through); mail is accepted and held.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>The port of remote MX hosts (25; tests point it elsewhere).</summary>
    public int RemotePort { get; set; } = 25;
    public OutboundTls Tls { get; set; } = OutboundTls.Opportunistic;
    public RetryOptions Retry { get; set; } = new();
    /// <summary>Attempts a recipient gets before a temporary failure becomes final (and bounces); 0: no limit but <see cref="RetryOptions.MaxAge"/>.</summary>
    public int MaxAttempts { get; set; }
    /// <summary>When a deferred message sends its sender one "delayed" DSN.</summary>
    public TimeSpan DelayWarning { get; set; } = TimeSpan.FromHours(4);
    public int MaxConcurrency { get; set; } = 100;
    public int MaxPerDestination { get; set; } = 10;
    /// <summary>
    /// Messages a reused outbound connection carries before it is closed. A new connection costs a handshake and EHLO
    /// on the way of the message that waits for it (under cut-through, of the client waiting for its reply); Postfix
    /// limits reuse by time only, Exim closes after 500.
    /// </summary>
    public int MaxMessagesPerConnection { get; set; } = 1000;
    /// <summary>How long an idle outbound connection is kept for reuse.</summary>
    public TimeSpan ConnectionIdle { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>How long a claimed delivery stays in flight before another worker may take it.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(10);
    public SmtpClientTimeouts Timeouts { get; set; } = new();

    /// <summary>Static routes, checked before MX lookup: exact domain, then "*".</summary>
    public List<RouteOptions> Routes { get; set; } = [];

    /// <summary>Finished messages (every recipient delivered, failed or cancelled) are deleted this long after they finished.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Delivery targets by name, besides the built-in ones (<see cref="Hermod.Core.Storage.RouteKey.BuiltInTargets"/>).</summary>
    public Dictionary<string, TargetSpec> Targets { get; set; } = new(StringComparer.Ordinal);
}
