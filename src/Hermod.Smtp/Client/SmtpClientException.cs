using Hermod.Core.Smtp;

namespace Hermod.Smtp.Client;

/// <summary>Where in the conversation something happened.</summary>
public enum SmtpClientStage
{
    Connect,
    Greeting,
    Hello,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Content,
    EndOfData,
    Reset,
    Quit,
}

/// <summary>
/// The conversation broke: the TCP connect failed, a timeout expired, the connection was closed or reset, the
/// TLS handshake failed, or the server sent something that is not an SMTP reply. Server replies — any code,
/// 421 included — are never thrown: they come back as values (<see cref="SmtpConnectResult"/>,
/// <see cref="SmtpTransactionResult"/>). After this exception the connection is not usable.
/// </summary>
public sealed class SmtpClientException : Exception
{
    public SmtpClientException()
        : this(SmtpClientStage.Connect, "SMTP conversation failed", null, [], null)
    {
    }

    public SmtpClientException(string message)
        : this(SmtpClientStage.Connect, message, null, [], null)
    {
    }

    public SmtpClientException(string message, Exception innerException)
        : this(SmtpClientStage.Connect, message, null, [], innerException)
    {
    }

    public SmtpClientException(SmtpClientStage stage, string message, SmtpReply? lastReply, IReadOnlyList<string> transcript,
        Exception? innerException, bool mayHaveBeenDelivered = false, bool isTimeout = false)
        : base(message, innerException)
    {
        Stage = stage;
        Reply = lastReply;
        Transcript = transcript;
        MayHaveBeenDelivered = mayHaveBeenDelivered;
        IsTimeout = isTimeout;
    }

    /// <summary>The step during which the conversation broke.</summary>
    public SmtpClientStage Stage { get; }

    /// <summary>
    /// Whether to retry later. Always true: a connection that breaks is a temporary failure (RFC 5321 4.5.4.1),
    /// however it broke; the property exists so callers do not encode that rule themselves.
    /// </summary>
    public bool IsTransient { get; } = true;

    /// <summary>The last reply the server sent before the conversation broke, if any (for the log).</summary>
    public SmtpReply? Reply { get; }

    /// <summary>A timeout expired (the server stalled), as opposed to an I/O or protocol error.</summary>
    public bool IsTimeout { get; }

    /// <summary>
    /// The end of the message content was sent but no reply came (RFC 1047): the server may have taken the
    /// message, so a retry may duplicate it.
    /// </summary>
    public bool MayHaveBeenDelivered { get; }

    /// <summary>The last lines of the conversation, AUTH redacted.</summary>
    public IReadOnlyList<string> Transcript { get; }
}
