using Hermod.Core.Storage;

namespace Hermod.Smtp.Client;

/// <summary>
/// One message to send on a <see cref="SmtpClientConnection"/>: its envelope and a content source.
/// <see cref="WriteContent"/> writes the message (header and body, CRLF line endings, not dot-stuffed) into the
/// stream it is given, in as many writes as it likes; it may be called once per <see cref="SmtpClientConnection.SendAsync"/>.
/// The stream sends as it is written through a bounded buffer, so the content is never held whole.
/// </summary>
public sealed class SmtpOutboundMessage
{
    public SmtpOutboundMessage(string sender, IReadOnlyList<EnvelopeRecipient> recipients, long size, Func<Stream, CancellationToken, Task> writeContent)
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(recipients);
        ArgumentNullException.ThrowIfNull(writeContent);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Sender = sender;
        Recipients = recipients;
        Size = size;
        WriteContent = writeContent;
    }

    /// <summary>
    /// An envelope for a step-by-step transaction (<see cref="SmtpClientConnection.MailAsync(SmtpOutboundMessage, CancellationToken)"/>): no recipients yet, and
    /// no content source — the content goes to <see cref="SmtpClientConnection.ContentAsync"/>. <paramref name="size"/>
    /// 0 means unknown (no SIZE= is sent).
    /// </summary>
    public SmtpOutboundMessage(string sender, long size)
        : this(sender, [], size, NoContent)
    {
    }

    private static Task NoContent(Stream stream, CancellationToken ct) =>
        throw new InvalidOperationException("This message has no content source: send its content with ContentAsync");

    /// <summary>A message whose content is already in memory (tests, small generated messages such as bounces).</summary>
    public static SmtpOutboundMessage FromBytes(string sender, IReadOnlyList<EnvelopeRecipient> recipients, ReadOnlyMemory<byte> content) =>
        new(sender, recipients, content.Length, (stream, ct) => stream.WriteAsync(content, ct).AsTask());

    /// <summary>The reverse-path; "" is the null path "&lt;&gt;" (bounces).</summary>
    public string Sender { get; }

    /// <summary>Forward-paths with their DSN NOTIFY / ORCPT (sent only when the server offers DSN).</summary>
    public IReadOnlyList<EnvelopeRecipient> Recipients { get; }

    /// <summary>Content size in octets, announced as SIZE= (RFC 1870) and checked against the server's limit; 0: unknown, not announced.</summary>
    public long Size { get; }

    public Func<Stream, CancellationToken, Task> WriteContent { get; }

    /// <summary>BODY=8BITMIME is sent when the server offers 8BITMIME; otherwise the content goes as it is.</summary>
    public BodyType Body { get; init; }

    /// <summary>
    /// The message needs SMTPUTF8 (RFC 6531): sent as the MAIL parameter; a server that does not offer it refuses
    /// the message before anything is sent. Non-ASCII addresses imply it.
    /// </summary>
    public bool SmtpUtf8 { get; init; }

    /// <summary>RET= (RFC 3461), sent only when the server offers DSN.</summary>
    public DsnReturn Ret { get; init; }

    /// <summary>ENVID= (RFC 3461, xtext-encoded on the wire), sent only when the server offers DSN.</summary>
    public string? EnvelopeId { get; init; }
}
