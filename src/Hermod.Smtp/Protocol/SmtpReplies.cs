using Hermod.Core.Smtp;

namespace Hermod.Smtp.Protocol;

/// <summary>
/// Every reply the SMTP server makes itself, by name: one instance each, and a factory for the few that carry a
/// value (the host name, a queue id, a count). Refusals from the policy pipeline and the next hops come as
/// <see cref="SmtpReply"/> values of their own; our own faults are <see cref="SmtpReply.LocalError"/>.
/// </summary>
public static class SmtpReplies
{
    // Session
    public static SmtpReply Greeting(string hostname) => new(220, EnhancedStatusCode.None, $"{hostname} ESMTP Hermod");

    /// <summary>The connection stage refused the client: 554 for good, 421 for now (RFC 5321 3.1), with the pipeline's status and text.</summary>
    public static SmtpReply ConnectionRefused(SmtpReply refusal) => new(refusal.IsPermanent ? 554 : 421, refusal.Enhanced, refusal.Text);

    public static SmtpReply Closing(string hostname) => new(221, new(2, 0, 0), $"{hostname} closing connection");

    /// <summary>The reply to HELO (one line) or EHLO (the greeting line, then one line per extension).</summary>
    public static SmtpReply Hello(string lines) => new(250, EnhancedStatusCode.None, lines);

    public static readonly SmtpReply Ok = new(250, new(2, 0, 0), "OK");
    public static readonly SmtpReply CannotVerify = new(252, new(2, 5, 0), "Cannot VRFY user, but will accept message and attempt delivery");
    public static readonly SmtpReply ExpnNotAvailable = new(502, new(5, 5, 1), "EXPN not available");
    public static readonly SmtpReply Help = new(214, new(2, 0, 0), "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");

    // Command syntax and sequence
    public static readonly SmtpReply SyntaxError = new(500, new(5, 5, 2), "Syntax error, command unrecognized");
    public static readonly SmtpReply LineTooLong = new(500, new(5, 5, 6), "Line too long");
    public static readonly SmtpReply BadSequence = new(503, new(5, 5, 1), "Bad sequence of commands");
    public static readonly SmtpReply SendHelloFirst = new(503, new(5, 5, 1), "Send HELO/EHLO first");
    public static readonly SmtpReply NestedMail = new(503, new(5, 5, 1), "Nested MAIL command");
    public static readonly SmtpReply NeedMail = new(503, new(5, 5, 1), "Need MAIL command first");
    public static readonly SmtpReply OnlyBdatInSequence = new(503, new(5, 5, 1), "Only BDAT, RSET, NOOP or QUIT inside a BDAT sequence");
    public static readonly SmtpReply EhloSyntax = new(501, new(5, 5, 4), "Syntax: EHLO hostname");
    public static readonly SmtpReply HeloSyntax = new(501, new(5, 5, 4), "Syntax: HELO hostname");
    public static readonly SmtpReply DataTakesNoArguments = new(501, new(5, 5, 4), "DATA takes no arguments");
    public static readonly SmtpReply BdatSyntax = new(501, new(5, 5, 4), "Syntax: BDAT size [LAST]");
    public static readonly SmtpReply BdatOutOfStep = new(421, new(4, 5, 0), "Cannot resynchronise after a bad BDAT, closing connection");

    // Limits
    public static readonly SmtpReply TooManyErrors = new(421, new(4, 7, 0), "Too many errors, closing connection");
    public static readonly SmtpReply Timeout = new(421, new(4, 4, 2), "Timeout, closing connection");
    public static readonly SmtpReply TooSlow = new(421, new(4, 4, 2), "Data rate too low, closing connection");
    public static readonly SmtpReply TooManyConnections = new(421, new(4, 7, 0), "Too many connections, try again later");
    public static readonly SmtpReply TooManyConnectionsFromIp = new(421, new(4, 7, 0), "Too many connections from your address, try again later");
    public static readonly SmtpReply ShuttingDown = new(421, new(4, 3, 2), "Service shutting down, closing connection");
    public static readonly SmtpReply TooManyRecipients = new(452, new(4, 5, 3), "Too many recipients");
    public static readonly SmtpReply MessageTooBig = new(552, new(5, 3, 4), "Message size exceeds fixed maximum message size");
    public static readonly SmtpReply HeaderTooBig = new(552, new(5, 3, 4), "Header block exceeds fixed maximum size");
    public static readonly SmtpReply TextLineTooLong = new(554, new(5, 6, 0), "Message contains a line longer than allowed");
    public static readonly SmtpReply BareLineEnding = new(550, new(5, 6, 0), "Message contains bare CR or LF; lines must end with CRLF");

    // MAIL and RCPT
    public static readonly SmtpReply SenderOk = new(250, new(2, 1, 0), "Sender OK");
    public static readonly SmtpReply RecipientOk = new(250, new(2, 1, 5), "Recipient OK");
    public static readonly SmtpReply NoValidRecipients = new(554, new(5, 5, 1), "No valid recipients");
    public static readonly SmtpReply RelayDenied = new(550, new(5, 7, 1), "Relaying denied");
    public static readonly SmtpReply NonAsciiWithoutSmtpUtf8 = new(553, new(5, 6, 7), "Non-ASCII address requires SMTPUTF8");

    /// <summary>The MAIL FROM: / RCPT TO: argument does not split into a path and parameters; <paramref name="why"/> says how.</summary>
    public static SmtpReply PathSyntax(string why) => new(501, new(5, 5, 2), why);

    public static SmtpReply BadSender(string why) => new(501, new(5, 1, 7), why);

    public static SmtpReply BadRecipient(string why) => new(501, new(5, 1, 3), why);

    public static SmtpReply DuplicateParameter(string key) => new(501, new(5, 5, 4), $"Duplicate parameter {key}");

    public static SmtpReply BadParameterValue(string key) => new(501, new(5, 5, 4), $"Bad value for {key}");

    /// <summary><paramref name="key"/> sanitized by the caller: it is the client's.</summary>
    public static SmtpReply UnsupportedParameter(string key) => new(555, new(5, 5, 4), $"Unsupported parameter {key}");

    // Content
    public static readonly SmtpReply StartData = new(354, EnhancedStatusCode.None, "End data with <CR><LF>.<CR><LF>");

    /// <summary>A BDAT chunk that is not the last.</summary>
    public static SmtpReply OctetsReceived(long octets) => new(250, new(2, 0, 0), $"{octets} octets received");

    /// <summary>The message is durable: Hermod is responsible for it now.</summary>
    public static SmtpReply Queued(string queueId) => new(250, new(2, 0, 0), $"Ok: queued as {queueId}");

    /// <summary>Every recipient's copy was discarded by configuration: nothing was stored.</summary>
    public static readonly SmtpReply Discarded = new(250, new(2, 0, 0), "Ok");

    // STARTTLS and AUTH
    public static readonly SmtpReply ReadyForTls = new(220, new(2, 0, 0), "Ready to start TLS");
    public static readonly SmtpReply TlsNotAvailable = new(454, new(4, 7, 0), "TLS not available");
    public static readonly SmtpReply TlsAlreadyActive = new(503, new(5, 5, 1), "TLS already active");
    public static readonly SmtpReply StartTlsTakesNoArguments = new(501, new(5, 5, 4), "STARTTLS takes no arguments");
    public static readonly SmtpReply AuthOk = new(235, new(2, 7, 0), "Authentication successful");
    public static readonly SmtpReply AuthRequired = new(530, new(5, 7, 0), "Authentication required");
    public static readonly SmtpReply EncryptionRequired = new(538, new(5, 7, 11), "Encryption required for requested authentication mechanism");
    public static readonly SmtpReply AuthFailed = new(535, new(5, 7, 8), "Authentication credentials invalid");
    public static readonly SmtpReply AuthCancelled = new(501, new(5, 0, 0), "Authentication cancelled");
    public static readonly SmtpReply AuthNotAvailable = new(502, new(5, 5, 1), "AUTH not available on this listener");
    public static readonly SmtpReply AlreadyAuthenticated = new(503, new(5, 5, 1), "Already authenticated");
    public static readonly SmtpReply AuthSyntax = new(501, new(5, 5, 4), "Syntax: AUTH mechanism [initial-response]");
    public static readonly SmtpReply UnknownMechanism = new(504, new(5, 5, 4), "Unrecognized authentication mechanism");
    public static readonly SmtpReply CannotDecode = new(501, new(5, 5, 2), "Cannot decode response");

    /// <summary>AUTH PLAIN without an initial response: an empty challenge.</summary>
    public static readonly SmtpReply PlainChallenge = new(334, EnhancedStatusCode.None, "");

    /// <summary>AUTH LOGIN's challenges, base64 "Username:" and "Password:".</summary>
    public static readonly SmtpReply UsernameChallenge = new(334, EnhancedStatusCode.None, "VXNlcm5hbWU6");

    public static readonly SmtpReply PasswordChallenge = new(334, EnhancedStatusCode.None, "UGFzc3dvcmQ6");
}
