using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Configuration;

/// <summary>The SMTP server (smtp:): local domains, listeners, limits, timeouts and what to do with bare line endings.</summary>
public sealed class SmtpOptions
{
    /// <summary>The domains ingress accepts mail for (and delivery holds without a route); empty: the host name and localhost.</summary>
    public List<string> LocalDomains { get; set; } = [];
    public List<ListenerOptions> Listeners { get; set; } = [new ListenerOptions()];
    public SmtpLimits Limits { get; set; } = new();
    public SmtpTimeouts Timeouts { get; set; } = new();
    public BareLineEndingPolicy BareLineEndings { get; set; } = BareLineEndingPolicy.Reject;
}
