using System.Net;

namespace Hermod.Core.Configuration;

/// <summary>The whole configuration, as read from hermod.yaml plus HERMOD_ environment overrides.</summary>
public sealed class HermodOptions
{
    public string Hostname { get; set; } = System.Net.Dns.GetHostName();
    public string DataDir { get; set; } = "./data";
    public StorageOptions Storage { get; set; } = new();
    public SmtpOptions Smtp { get; set; } = new();
    public TlsOptions Tls { get; set; } = new();
    public List<UserOptions> Users { get; set; } = [];
    public HttpOptions Http { get; set; } = new();
    public LogOptions Log { get; set; } = new();
    public DnsConfig Dns { get; set; } = new();
    /// <summary>Static routes, checked before MX lookup: exact domain, then "*".</summary>
    public List<RouteOptions> Routes { get; set; } = [];
    public DeliveryOptions Delivery { get; set; } = new();
    public MiniMailgunOptions MiniMailgun { get; set; } = new();
    public ApiOptions Api { get; set; } = new();
    /// <summary>URLs that receive every delivery event as signed JSON.</summary>
    public List<WebhookOptions> Webhooks { get; set; } = [];
    /// <summary>Finished messages (every recipient delivered, failed or cancelled) are deleted this long after they finished.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
    /// <summary>Policy pipelines by name; listeners and the HTTP API name the one they use.</summary>
    public Dictionary<string, DispatchBlockOptions> Pipelines { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Delivery targets by name, besides the built-in "remote" and "discard".</summary>
    public Dictionary<string, TargetSpec> Targets { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The Mini-MailGun compatible API (POST /send, POST /status).</summary>
public sealed class MiniMailgunOptions
{
    /// <summary>The client ids allowed to send; empty: the API answers 401 to everyone.</summary>
    public List<string> Clients { get; set; } = [];
}

/// <summary>A receiver of delivery events: each is POSTed as JSON with an HMAC-SHA256 signature made with <see cref="Secret"/>.</summary>
public sealed class WebhookOptions
{
    public Uri Url { get; set; } = new("http://127.0.0.1/");
    public string Secret { get; set; } = "";
    /// <summary>Only events of this tenant; null: all events.</summary>
    public string? Tenant { get; set; }
}

/// <summary>Limits of the native HTTP API (/v1).</summary>
public sealed class ApiOptions
{
    public long MaxRequestSize { get; set; } = 30L << 20;
    public int MaxRecipients { get; set; } = 1000;
    public long MaxAttachmentSize { get; set; } = 20L << 20;
}

public sealed class DnsConfig
{
    /// <summary>Nameservers; empty: those of /etc/resolv.conf.</summary>
    public List<IPEndPoint> Servers { get; set; } = [];
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);
    public int Attempts { get; set; } = 2;
}

/// <summary>TLS toward the next hop.</summary>
public enum OutboundTls { None, Opportunistic, Required }

public sealed class RouteOptions
{
    /// <summary>A domain (lower case) or "*".</summary>
    public string Domain { get; set; } = "*";
    public string Host { get; set; } = "";
    public int? Port { get; set; }
    public OutboundTls? Tls { get; set; }
    public string? User { get; set; }
    public string? Password { get; set; }
    /// <summary>false: mail on this route is never delivered cut-through (always store and forward).</summary>
    public bool CutThrough { get; set; } = true;
}

public sealed class RetryOptions
{
    public TimeSpan Min { get; set; } = TimeSpan.FromMinutes(1);
    public TimeSpan Max { get; set; } = TimeSpan.FromHours(1);
    public double Factor { get; set; } = 2;
    /// <summary>A message still undelivered after this long fails (and bounces).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(5);
}

public sealed class DeliveryOptions
{
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
}

/// <summary>RFC 5321 4.5.3.2 client timeouts.</summary>
public sealed class SmtpClientTimeouts
{
    public TimeSpan Connect { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan Command { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan DataBlock { get; set; } = TimeSpan.FromMinutes(3);
    public TimeSpan DataEnd { get; set; } = TimeSpan.FromMinutes(10);
}

public sealed class StorageOptions
{
    public string Provider { get; set; } = "sqlite";
    /// <summary>Most commits one group commit carries.</summary>
    public int MaxBatch { get; set; } = 512;
    /// <summary>Body bytes buffered per message before a chunk goes to the blob store.</summary>
    public int ChunkSize { get; set; } = 256 * 1024;
    /// <summary>Size at which a body segment file (large chunks) is full and the next one starts.</summary>
    public long SegmentSize { get; set; } = 64L * 1024 * 1024;
}

public enum ListenerRole { Ingress, Submission }

public enum TlsMode { None, StartTls, Implicit }

public enum AuthMode { None, Optional, Required }

public enum BareLineEndingPolicy { Reject, Normalize }

public sealed class ListenerOptions
{
    public string Name { get; set; } = "mx";
    public IPEndPoint Address { get; set; } = new(IPAddress.Loopback, 2525);
    public ListenerRole Role { get; set; } = ListenerRole.Ingress;
    public TlsMode Tls { get; set; } = TlsMode.StartTls;
    public AuthMode Auth { get; set; } = AuthMode.None;
    /// <summary>Allow AUTH before TLS on this listener (off by default).</summary>
    public bool AllowPlaintextAuth { get; set; }
    /// <summary>The policy pipeline (a name in <see cref="HermodOptions.Pipelines"/>); null: deliver everything accepted to "remote".</summary>
    public string? Pipeline { get; set; }
    public CutThroughOptions CutThrough { get; set; } = new();
}

/// <summary>
/// Cut-through (DESIGN.md): while the client waits, Hermod tries the next hop and hands its answer back; how long it
/// waits for the upstream answer to RCPT and to the end of the data. Off: pure store and forward.
/// </summary>
public sealed class CutThroughOptions
{
    public bool Enabled { get; set; } = true;
    public TimeSpan RcptTimeout { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class SmtpLimits
{
    public long MaxMessageSize { get; set; } = 50L * 1024 * 1024;
    public int MaxRecipients { get; set; } = 1000;
    public int MaxConnections { get; set; } = 1000;
    public int MaxConnectionsPerIp { get; set; } = 100;
    public int MaxCommandLine { get; set; } = 512;
    public int MaxTextLine { get; set; } = 1000;
    public int MaxHeaderSize { get; set; } = 256 * 1024;
    public int MaxErrors { get; set; } = 10;
    /// <summary>Bytes per second a client must keep up during DATA/BDAT once the grace period is over; 0 turns the check off.</summary>
    public long MinDataRate { get; set; } = 1024;
    public TimeSpan MinDataRateGrace { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class SmtpTimeouts
{
    /// <summary>Waiting for the next command (RFC 5321 4.5.3.2.7: at least 5 minutes).</summary>
    public TimeSpan Command { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>Waiting for the next block of message data (4.5.3.2.5: 3 minutes).</summary>
    public TimeSpan DataBlock { get; set; } = TimeSpan.FromMinutes(3);
    /// <summary>A whole DATA or BDAT transfer (bounded so a drip-feeding client cannot hold a session forever).</summary>
    public TimeSpan DataTotal { get; set; } = TimeSpan.FromMinutes(30);
    /// <summary>TLS handshake after STARTTLS or on an implicit-TLS connect.</summary>
    public TimeSpan TlsHandshake { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class SmtpOptions
{
    public List<string> LocalDomains { get; set; } = [];
    public List<ListenerOptions> Listeners { get; set; } = [new ListenerOptions()];
    public SmtpLimits Limits { get; set; } = new();
    public SmtpTimeouts Timeouts { get; set; } = new();
    public BareLineEndingPolicy BareLineEndings { get; set; } = BareLineEndingPolicy.Reject;
}

public sealed class TlsOptions
{
    public string? Certificate { get; set; }
    public string? Key { get; set; }
}

public sealed class UserOptions
{
    public string Name { get; set; } = "";
    public string PasswordHash { get; set; } = "";
}

public sealed class HttpOptions
{
    public IPEndPoint Address { get; set; } = new(IPAddress.Loopback, 8025);
    /// <summary>The policy pipeline of HTTP submission (both APIs); null: deliver everything accepted to "remote".</summary>
    public string? Pipeline { get; set; }
    public CutThroughOptions CutThrough { get; set; } = new();
}

public sealed class LogOptions
{
    public string Level { get; set; } = "information";
}
