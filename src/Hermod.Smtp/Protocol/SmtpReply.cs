using System.Buffers;
using System.Text;

namespace Hermod.Smtp.Protocol;

/// <summary>An SMTP reply as a value: code, enhanced status (RFC 3463, may be empty) and text lines.</summary>
public sealed record SmtpReply(int Code, string Enhanced, string Text)
{
    public bool IsPositive => Code is >= 200 and < 400;

    /// <summary>Writes "CODE[-| ]ENH TEXT\r\n" for each line of <see cref="Text"/>.</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        var lines = Text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var sep = i == lines.Length - 1 ? ' ' : '-';
            var line = Enhanced.Length > 0 ? $"{Code}{sep}{Enhanced} {lines[i]}\r\n" : $"{Code}{sep}{lines[i]}\r\n";
            var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length));
            output.Advance(Encoding.UTF8.GetBytes(line, span));
        }
    }

    public override string ToString() => Enhanced.Length > 0 ? $"{Code} {Enhanced} {Text}" : $"{Code} {Text}";

    public static readonly SmtpReply Ok = new(250, "2.0.0", "OK");
    public static readonly SmtpReply SenderOk = new(250, "2.1.0", "Sender OK");
    public static readonly SmtpReply RecipientOk = new(250, "2.1.5", "Recipient OK");
    public static readonly SmtpReply StartData = new(354, "", "End data with <CR><LF>.<CR><LF>");
    public static readonly SmtpReply CannotVerify = new(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
    public static readonly SmtpReply ReadyForTls = new(220, "2.0.0", "Ready to start TLS");
    public static readonly SmtpReply AuthOk = new(235, "2.7.0", "Authentication successful");

    public static readonly SmtpReply SyntaxError = new(500, "5.5.2", "Syntax error, command unrecognized");
    public static readonly SmtpReply LineTooLong = new(500, "5.5.6", "Line too long");
    public static readonly SmtpReply NotImplemented = new(502, "5.5.1", "Command not implemented");
    public static readonly SmtpReply BadSequence = new(503, "5.5.1", "Bad sequence of commands");
    public static readonly SmtpReply TooManyErrors = new(421, "4.7.0", "Too many errors, closing connection");
    public static readonly SmtpReply Timeout = new(421, "4.4.2", "Timeout, closing connection");
    public static readonly SmtpReply TooSlow = new(421, "4.4.2", "Data rate too low, closing connection");
    public static readonly SmtpReply TooManyConnections = new(421, "4.7.0", "Too many connections, try again later");
    public static readonly SmtpReply TooManyConnectionsFromIp = new(421, "4.7.0", "Too many connections from your address, try again later");
    public static readonly SmtpReply ShuttingDown = new(421, "4.3.2", "Service shutting down, closing connection");
    public static readonly SmtpReply LocalError = new(451, "4.3.0", "Local error in processing, try again later");
    public static readonly SmtpReply TooManyRecipients = new(452, "4.5.3", "Too many recipients");
    public static readonly SmtpReply MessageTooBig = new(552, "5.3.4", "Message size exceeds fixed maximum message size");
    public static readonly SmtpReply HeaderTooBig = new(552, "5.3.4", "Header block exceeds fixed maximum size");
    public static readonly SmtpReply TextLineTooLong = new(554, "5.6.0", "Message contains a line longer than allowed");
    public static readonly SmtpReply BareLineEnding = new(550, "5.6.0", "Message contains bare CR or LF; lines must end with CRLF");
    public static readonly SmtpReply NoValidRecipients = new(554, "5.5.1", "No valid recipients");
    public static readonly SmtpReply RelayDenied = new(550, "5.7.1", "Relaying denied");
    public static readonly SmtpReply AuthRequired = new(530, "5.7.0", "Authentication required");
    public static readonly SmtpReply EncryptionRequired = new(538, "5.7.11", "Encryption required for requested authentication mechanism");
    public static readonly SmtpReply AuthFailed = new(535, "5.7.8", "Authentication credentials invalid");
    public static readonly SmtpReply AuthCancelled = new(501, "5.0.0", "Authentication cancelled");
    public static readonly SmtpReply TlsNotAvailable = new(454, "4.7.0", "TLS not available");
    public static readonly SmtpReply NonAsciiWithoutSmtpUtf8 = new(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
}
