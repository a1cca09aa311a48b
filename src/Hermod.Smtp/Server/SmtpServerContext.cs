using System.Security.Cryptography.X509Certificates;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Security;
using Hermod.Core.Storage;
using Hermod.Smtp.Configuration;
using Microsoft.Extensions.Logging;

namespace Hermod.Smtp.Server;

/// <summary>What every session of every listener shares.</summary>
/// <param name="hostname">The name the server greets with and writes in trace headers.</param>
public sealed class SmtpServerContext(
    SmtpOptions options,
    string hostname,
    IMessageStore store,
    IPasswordVerifier passwords,
    X509Certificate2? certificate,
    HermodMetrics metrics,
    TimeProvider time,
    ILoggerFactory loggers,
    PipelineSet pipelines,
    ICutThrough? cutThrough = null)
{
    /// <summary>Null when nothing is delivered from this process (delivery disabled).</summary>
    public ICutThrough? CutThrough { get; } = cutThrough;
    public PipelineSet Pipelines { get; } = pipelines;
    public SmtpOptions Options { get; } = options;
    public string Hostname { get; } = hostname;
    public IMessageStore Store { get; } = store;
    public IPasswordVerifier Passwords { get; } = passwords;
    public X509Certificate2? Certificate { get; } = certificate;
    public HermodMetrics Metrics { get; } = metrics;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = loggers.CreateLogger("Hermod.Smtp");
    public ConnectionLimiter Limiter { get; } = new(options.Limits.MaxConnections, options.Limits.MaxConnectionsPerIp);
    public HashSet<string> LocalDomains { get; } = new(options.LocalDomains, StringComparer.OrdinalIgnoreCase);
}
