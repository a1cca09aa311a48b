namespace Hermod.Smtp.Configuration;

/// <summary>The limits of the SMTP server (smtp.limits), applied before parsing.</summary>
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
