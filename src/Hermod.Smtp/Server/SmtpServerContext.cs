using System.Security.Cryptography.X509Certificates;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Security;
using Hermod.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Hermod.Smtp.Server;

/// <summary>What every session of every listener shares.</summary>
public sealed class SmtpServerContext(
    HermodOptions options,
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
    public HermodOptions Options { get; } = options;
    public IMessageStore Store { get; } = store;
    public IPasswordVerifier Passwords { get; } = passwords;
    public X509Certificate2? Certificate { get; } = certificate;
    public HermodMetrics Metrics { get; } = metrics;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = loggers.CreateLogger("Hermod.Smtp");
    public ConnectionLimiter Limiter { get; } = new(options.Smtp.Limits.MaxConnections, options.Smtp.Limits.MaxConnectionsPerIp);
    public HashSet<string> LocalDomains { get; } = new(options.Smtp.LocalDomains, StringComparer.OrdinalIgnoreCase);
}
