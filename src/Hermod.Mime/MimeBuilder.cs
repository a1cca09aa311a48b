using System.Security.Cryptography;
using System.Text;
using Hermod.Mime.Codecs;
using Hermod.Mime.Syntax;
using Hermod.Mime.Writing;

namespace Hermod.Mime;

/// <summary>
/// Writes a <see cref="MessageSpec"/> as an RFC 5322 / MIME message with CRLF line ends. The structure follows the
/// content: text/plain or text/html alone; multipart/alternative for both; multipart/related around the HTML and its
/// inline parts; multipart/mixed around everything when there are attachments.
/// </summary>
public static class MimeBuilder
{
    /// <summary>
    /// Writes the message to <paramref name="output"/> as it goes (through a small buffer; nothing holds the whole
    /// message). Bcc is never written. Date comes from <paramref name="time"/> (in its local time zone) unless the spec
    /// has one; Message-ID is <c>&lt;random@messageIdDomain&gt;</c> unless the spec has one.
    /// </summary>
    /// <exception cref="ArgumentException">The spec has problems (see <see cref="Validate"/>) or the domain is not a host name.</exception>
    public static async Task WriteAsync(MessageSpec spec, Stream output, string messageIdDomain, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(messageIdDomain);
        ArgumentNullException.ThrowIfNull(time);
        if (!AddressSyntax.IsDotAtom(messageIdDomain, utf8: false))
            throw new ArgumentException($"'{messageIdDomain}' is not a domain for Message-IDs", nameof(messageIdDomain));
        var problems = Validate(spec);
        if (problems.Count > 0)
            throw new ArgumentException("The message is not valid: " + string.Join("; ", problems), nameof(spec));

        var root = Structure(spec);
        ChooseBoundaries(root);
        using var writer = new MimeOutput(output);
        foreach (var header in TopHeaders(spec, messageIdDomain, time))
            writer.Write(header);
        root.WriteHeaders(writer);
        writer.Write("\r\n"u8);
        await root.WriteBodyAsync(writer, cancellationToken);
        if (!root.BodyEndsWithLineEnd)
            writer.Write("\r\n"u8);
        await writer.FlushAsync(cancellationToken);
        await output.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// About the size of the written message, never much less: for a caller that collects it in memory, to size its
    /// buffer once (a buffer that grows as the message is written leaves about twice its size behind).
    /// </summary>
    public static int SizeHint(MessageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        // Header text takes at most ~5 octets a character as encoded words (4 of base64 for 3 of UTF-8, a character
        // has up to 3, and each word's delimiters); 6 leaves room for folding. The fixed fields (a generated
        // Message-ID of any domain among them) and the multipart structure around the texts take about 1 KiB.
        long headerText = (spec.Subject?.Length ?? 0) + (spec.MessageId?.Length ?? 0) + (spec.From is { } from ? Length(from) : 0);
        foreach (var list in new[] { spec.To, spec.Cc, spec.ReplyTo })
        {
            foreach (var mailbox in list)
                headerText += Length(mailbox);
        }
        foreach (var (name, value) in spec.Headers)
            headerText += name.Length + value.Length + 4;
        var size = 1024 + 6 * headerText + TextSize(spec.Text) + TextSize(spec.Html);
        foreach (var attachment in spec.Attachments)
        {
            // its headers (the file name twice, maybe RFC 2231 encoded) and a base64 line with CRLF per 57 octets
            var lines = (attachment.Content.Length + Base64Lines.BytesPerLine - 1L) / Base64Lines.BytesPerLine;
            size += 1024 + 12L * attachment.FileName.Length + lines * (Base64Lines.LineLength + 2);
        }
        return (int)Math.Min(size, Array.MaxLength);

        static long Length(MailAddress mailbox) => mailbox.Address.Length + (mailbox.DisplayName?.Length ?? 0) + 4;
    }

    /// <summary>
    /// About the written size of a text body, or more: its UTF-8 and a CR for each LF; quoted-printable writes '=' and
    /// each non-ASCII octet as =XX (there are at most twice as many of those as the UTF-8 has octets beyond the text's
    /// length) and adds a soft line break every 73 characters or more.
    /// </summary>
    private static long TextSize(string? text)
    {
        if (text is null)
            return 0;
        long utf8 = Encoding.UTF8.GetByteCount(text);
        var size = utf8 + text.AsSpan().Count('\n') + 4 * (utf8 - text.Length) + 2 * text.AsSpan().Count('=');
        return size + size / 24;
    }

    /// <summary>
    /// The problems that keep a spec from being written, one per field, named as the HTTP API names them:
    /// <c>to[2]: 'x' is not an email address</c>, <c>headers.Bcc: may not be set</c>. Empty when the spec is fine.
    /// </summary>
    public static IReadOnlyList<string> Validate(MessageSpec spec) => SpecValidator.Validate(spec);

    /// <summary>
    /// True when an address (Bcc included, as the envelope carries it) has a non-ASCII local part or domain: the
    /// message then carries UTF-8 addresses (RFC 6532) and must be relayed with SMTPUTF8 (RFC 6531).
    /// </summary>
    public static bool RequiresSmtpUtf8(MessageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.From?.IsInternational == true)
            return true;
        foreach (var list in new[] { spec.To, spec.Cc, spec.Bcc, spec.ReplyTo })
        {
            foreach (var mailbox in list)
            {
                if (mailbox.IsInternational)
                    return true;
            }
        }
        return false;
    }

    private static IEnumerable<string> TopHeaders(MessageSpec spec, string messageIdDomain, TimeProvider time)
    {
        var date = spec.Date ?? TimeZoneInfo.ConvertTime(time.GetUtcNow(), time.LocalTimeZone);
        yield return "Date: " + DateFormat.Format(date) + "\r\n";
        yield return new HeaderBuilder("From").Mailbox(spec.From!, last: true).ToString();
        if (spec.ReplyTo.Count > 0)
            yield return new HeaderBuilder("Reply-To").Mailboxes(spec.ReplyTo).ToString();
        if (spec.To.Count > 0)
            yield return new HeaderBuilder("To").Mailboxes(spec.To).ToString();
        if (spec.Cc.Count > 0)
            yield return new HeaderBuilder("Cc").Mailboxes(spec.Cc).ToString();
        if (spec.Subject is not null)
            yield return new HeaderBuilder("Subject").Unstructured(spec.Subject).ToString();
        var id = spec.MessageId is null
            ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "@" + messageIdDomain
            : AddressSyntax.StripAngles(spec.MessageId);
        yield return "Message-ID: <" + id + ">\r\n";
        foreach (var (name, value) in spec.Headers)
            yield return new HeaderBuilder(name).Verbatim(value).ToString();
        yield return "MIME-Version: 1.0\r\n";
    }

    /// <summary>The MIME tree for a (valid) spec.</summary>
    internal static MimePart Structure(MessageSpec spec)
    {
        var inline = new List<MimePart>();
        var attached = new List<MimePart>();
        foreach (var attachment in spec.Attachments)
        {
            if (!MediaType.TryParse(attachment.ContentType, out var mediaType))
                throw new InvalidOperationException("validated media type did not parse");
            // Inline parts need HTML to refer to them; without it they travel in multipart/mixed, still inline.
            if (attachment.IsInline && spec.Html is not null)
                inline.Add(new AttachmentPart(attachment, mediaType!, inline: true));
            else
                attached.Add(new AttachmentPart(attachment, mediaType!, attachment.IsInline));
        }

        MimePart? html = null;
        if (spec.Html is not null)
        {
            html = new TextPart("html", spec.Html);
            if (inline.Count > 0)
                html = new MultipartPart("related", [html, .. inline], relatedType: "text/html");
        }
        MimePart? text = spec.Text is null ? null : new TextPart("plain", spec.Text);
        var body = (text, html) switch
        {
            (not null, not null) => new MultipartPart("alternative", [text, html]),
            (not null, null) => text,
            (null, not null) => html,
            _ => attached.Count == 0 ? new TextPart("plain", "") : null,
        };
        if (attached.Count == 0)
            return body!;
        return new MultipartPart("mixed", body is null ? attached : [body, .. attached]);
    }

    private static void ChooseBoundaries(MimePart root)
    {
        var sevenBit = root.SevenBitContent().ToList();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<MimePart>();
        pending.Push(root);
        while (pending.TryPop(out var part))
        {
            if (part is MultipartPart multipart)
            {
                multipart.ChooseBoundary(sevenBit, taken);
                foreach (var child in multipart.Children)
                    pending.Push(child);
            }
        }
    }
}
