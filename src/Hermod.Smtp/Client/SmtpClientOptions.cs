using System.Text;

namespace Hermod.Smtp.Client;

/// <summary>When the client uses STARTTLS (RFC 3207).</summary>
public enum TlsPolicy
{
    /// <summary>Never: stay in plaintext even when the server offers STARTTLS.</summary>
    None,

    /// <summary>
    /// Use STARTTLS when the server offers it, accepting any certificate (as MTAs do for MX delivery: an
    /// unauthenticated encrypted channel beats plaintext); continue in plaintext when it is not offered or refused.
    /// </summary>
    Opportunistic,

    /// <summary>
    /// STARTTLS is mandatory: the connection fails when it is not offered, refused or the handshake fails. The
    /// certificate is validated against the server name unless <see cref="SmtpClientOptions.AcceptAnyCertificate"/>.
    /// </summary>
    Required,
}

/// <summary>Credentials for AUTH PLAIN / LOGIN (RFC 4954, 4616), for smarthosts.</summary>
public sealed record SmtpClientCredentials(string UserName, string Password)
{
    /// <summary>The password never reaches a log through this record.</summary>
    public override string ToString() => $"SmtpClientCredentials {{ UserName = {UserName}, Password = *** }}";
}

/// <summary>
/// Settings of the outbound SMTP client. Timeouts default to RFC 5321 4.5.3.2; each one bounds a single read or
/// write of the step it names, so a slow but live peer is never cut off while a stalled one is.
/// </summary>
public sealed class SmtpClientOptions
{
    /// <summary>The name sent with EHLO / HELO: this host's fully qualified name.</summary>
    public string HeloName { get; set; } = "localhost";

    /// <summary>TCP connect.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Waiting for the 220 greeting (4.5.3.2.1: 5 minutes).</summary>
    public TimeSpan GreetingTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>EHLO, HELO, MAIL, RCPT, RSET, QUIT, STARTTLS, AUTH replies (4.5.3.2.2, 4.5.3.2.3: 5 minutes).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Waiting for the 354 after DATA (4.5.3.2.4: 2 minutes).</summary>
    public TimeSpan DataInitiationTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Each write of message content, and each non-final BDAT reply (4.5.3.2.5: 3 minutes).</summary>
    public TimeSpan DataBlockTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Waiting for the reply after the final "." or the BDAT LAST chunk (4.5.3.2.6: 10 minutes).</summary>
    public TimeSpan DataTerminationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The TLS handshake after STARTTLS.</summary>
    public TimeSpan TlsHandshakeTimeout { get; set; } = TimeSpan.FromMinutes(1);

    public TlsPolicy TlsPolicy { get; set; } = TlsPolicy.Opportunistic;

    /// <summary>With <see cref="TlsPolicy.Required"/>: skip certificate validation (tests, private relays). Opportunistic TLS never validates.</summary>
    public bool AcceptAnyCertificate { get; set; }

    /// <summary>Authenticate after EHLO (and after TLS) when set.</summary>
    public SmtpClientCredentials? Credentials { get; set; }

    /// <summary>Send credentials over a plaintext connection (off by default: AUTH only over TLS).</summary>
    public bool AllowPlaintextAuth { get; set; }

    /// <summary>Use PIPELINING (RFC 2920) when the server offers it.</summary>
    public bool UsePipelining { get; set; } = true;

    /// <summary>Use BDAT (RFC 3030 CHUNKING) instead of DATA when the server offers it.</summary>
    public bool UseChunking { get; set; } = true;

    /// <summary>Content octets per BDAT chunk; also the size of the buffer a BDAT transfer holds.</summary>
    public int ChunkSize { get; set; } = 64 * 1024;

    /// <summary>BDAT chunks sent ahead of their replies when the server offers PIPELINING (1 = wait for each).</summary>
    public int MaxChunksInFlight { get; set; } = 4;

    /// <summary>Commands written in one pipelined batch before their replies are read (bounds the batch, RFC 2920 3.1).</summary>
    public int MaxPipelinedCommands { get; set; } = 100;

    /// <summary>Lines of conversation kept for the log (<see cref="SmtpClientTranscript"/>); 0 keeps none.</summary>
    public int TranscriptLines { get; set; } = 50;

    /// <summary>The clock the timeouts run on.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(HeloName) || !IsHeloName(HeloName))
            throw new ArgumentException($"{nameof(HeloName)} must be a host name or address literal without spaces or control characters", nameof(HeloName));
        foreach (var (name, value) in new[]
                 {
                     (nameof(ConnectTimeout), ConnectTimeout), (nameof(GreetingTimeout), GreetingTimeout),
                     (nameof(CommandTimeout), CommandTimeout), (nameof(DataInitiationTimeout), DataInitiationTimeout),
                     (nameof(DataBlockTimeout), DataBlockTimeout), (nameof(DataTerminationTimeout), DataTerminationTimeout),
                     (nameof(TlsHandshakeTimeout), TlsHandshakeTimeout),
                 })
            if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
                throw new ArgumentException($"{name} must be positive", name);
        if (ChunkSize is < 1 or > 64 * 1024 * 1024)
            throw new ArgumentException($"{nameof(ChunkSize)} must be between 1 and 64 MiB", nameof(ChunkSize));
        if (MaxChunksInFlight < 1)
            throw new ArgumentException($"{nameof(MaxChunksInFlight)} must be at least 1", nameof(MaxChunksInFlight));
        if (MaxPipelinedCommands < 1)
            throw new ArgumentException($"{nameof(MaxPipelinedCommands)} must be at least 1", nameof(MaxPipelinedCommands));
        if (TranscriptLines < 0)
            throw new ArgumentException($"{nameof(TranscriptLines)} must not be negative", nameof(TranscriptLines));
        if (Credentials is { } c && (c.UserName.Length == 0 || HasControl(c.UserName) || HasControl(c.Password)))
            throw new ArgumentException($"{nameof(Credentials)} need a user name; neither part may contain control characters", nameof(Credentials));
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }

    private static bool IsHeloName(string name)
    {
        if (!Ascii.IsValid(name))
            return false;
        foreach (var c in name)
            if (c <= ' ' || c == 127)
                return false;
        return true;
    }

    private static bool HasControl(string s)
    {
        foreach (var c in s)
            if (c < ' ' || c == 127)
                return true;
        return false;
    }
}
