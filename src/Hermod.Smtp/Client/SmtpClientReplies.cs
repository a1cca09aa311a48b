using System.Globalization;
using Hermod.Core.Smtp;

namespace Hermod.Smtp.Client;

/// <summary>
/// The replies the client makes itself: a step it will not take (no STARTTLS where TLS is required, no usable AUTH)
/// or a message or recipient it refuses without sending (SMTPUTF8 not offered or not declared, over the server's SIZE).
/// </summary>
internal static class SmtpClientReplies
{
    public static readonly SmtpReply TlsNotOffered = new(454, new(4, 7, 4), "TLS is required, but the server does not offer STARTTLS");
    public static readonly SmtpReply AuthWithoutTls = new(454, new(4, 7, 11), "Credentials are configured, but the connection is not encrypted and plaintext AUTH is not allowed");
    public static readonly SmtpReply AuthNotOffered = new(454, new(4, 7, 4), "Credentials are configured, but the server offers neither AUTH PLAIN nor AUTH LOGIN");
    public static readonly SmtpReply SmtpUtf8NotOffered = new(553, new(5, 6, 7), "The message requires SMTPUTF8, which the server does not support");
    public static readonly SmtpReply NonAsciiRecipient = new(553, new(5, 6, 7), "The recipient address requires SMTPUTF8, which the transaction did not declare");

    public static SmtpReply OverSizeLimit(long size, long max) => new(552, new(5, 3, 4),
        $"Message size ({size.ToString(CultureInfo.InvariantCulture)} octets) exceeds the server's limit ({max.ToString(CultureInfo.InvariantCulture)} octets)");
}
