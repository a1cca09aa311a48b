namespace Hermod.Smtp.Configuration;

/// <summary>How long the SMTP server waits for a client (smtp.timeouts).</summary>
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
