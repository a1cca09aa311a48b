using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Dns;
using Hermod.Hosting.Http;
using Hermod.Policy.Configuration;
using Hermod.Smtp.Configuration;

namespace Hermod.Hosting.Configuration;

/// <summary>
/// The whole configuration (hermod.yaml plus HERMOD_* environment overrides), each area's options as its binder read
/// them (<see cref="HermodConfigBinder"/>); <see cref="HermodHost"/> hands each area its own.
/// </summary>
public sealed class HermodConfiguration
{
    /// <summary>hostname:, data_dir:, cluster: — what every area reads.</summary>
    public HermodOptions Hermod { get; set; } = new();

    /// <summary>storage:, as the chosen provider read it.</summary>
    public StorageOptions Storage { get; set; } = StorageProviders.Default();

    /// <summary>smtp:.</summary>
    public SmtpOptions Smtp { get; set; } = new();

    public TlsOptions Tls { get; set; } = new();

    public List<UserOptions> Users { get; set; } = [];

    /// <summary>http:, api:, mini_mailgun:, webhooks:.</summary>
    public HttpOptions Http { get; set; } = new();

    public LogOptions Log { get; set; } = new();

    /// <summary>dns: — no servers: those of /etc/resolv.conf.</summary>
    public DnsOptions Dns { get; set; } = new();

    /// <summary>delivery:, routes:, retention:, targets:.</summary>
    public DeliveryOptions Delivery { get; set; } = new();

    /// <summary>pipelines:.</summary>
    public PolicyOptions Policy { get; set; } = new();

    /// <summary>What works but should change (a deprecated key), as "file:line: key: reason": check-config prints them, serve logs them.</summary>
    public IReadOnlyList<string> Warnings { get; set; } = [];
}
