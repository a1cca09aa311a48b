namespace Hermod.Mime;

/// <summary>
/// What a message should say; <see cref="MimeBuilder"/> turns it into MIME. Field names in validation messages are the
/// snake_case names of the HTTP API (<c>reply_to</c>, <c>attachments[1].content_id</c>, <c>headers.X-Tag</c>).
/// </summary>
public sealed class MessageSpec
{
    /// <summary>The author (required).</summary>
    public MailAddress? From { get; set; }

    public IList<MailAddress> To { get; } = [];

    public IList<MailAddress> Cc { get; } = [];

    /// <summary>Recipients who are not shown: part of the envelope, never written into the message.</summary>
    public IList<MailAddress> Bcc { get; } = [];

    public IList<MailAddress> ReplyTo { get; } = [];

    /// <summary>Plain Unicode text; no line breaks. Null writes no Subject field.</summary>
    public string? Subject { get; set; }

    /// <summary>The text/plain body; any line ends (CR, LF, CRLF) are written as CRLF.</summary>
    public string? Text { get; set; }

    /// <summary>The text/html body.</summary>
    public string? Html { get; set; }

    /// <summary>Attachments and inline parts, in the order they are written.</summary>
    public IList<MimeAttachment> Attachments { get; } = [];

    /// <summary>
    /// Extra header fields, written in order after Message-ID. Fields Hermod writes itself (From, To, Cc, Bcc, Reply-To,
    /// Subject, Date, Message-ID, MIME-Version, Content-*) are refused by validation.
    /// </summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The Date field; null takes the current time from the <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset? Date { get; set; }

    /// <summary>The Message-ID (<c>id@domain</c>, angle brackets optional); null generates one.</summary>
    public string? MessageId { get; set; }
}
