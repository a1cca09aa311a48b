using System.Text;
using Hermod.Mime.Codecs;
using Hermod.Mime.Syntax;
using Hermod.Mime.Writing;

namespace Hermod.Mime;

/// <summary>Field-level checks of a <see cref="MessageSpec"/> (see <see cref="MimeBuilder.Validate"/>).</summary>
internal static class SpecValidator
{
    /// <summary>File names longer than this are refused (file systems stop at 255 too).</summary>
    public const int MaxFileNameLength = 255;

    /// <summary>Extra header names longer than this are refused (a field's first line must stay short).</summary>
    public const int MaxFieldNameLength = 100;

    /// <summary>Header fields a spec describes with its own properties, or that the builder writes.</summary>
    private static readonly HashSet<string> OwnedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version",
    };

    public static IReadOnlyList<string> Validate(MessageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = new List<string>();
        if (spec.From is null)
            problems.Add("from: is required");
        else
            CheckMailbox(problems, "from", spec.From);
        CheckMailboxes(problems, "to", spec.To);
        CheckMailboxes(problems, "cc", spec.Cc);
        CheckMailboxes(problems, "bcc", spec.Bcc);
        CheckMailboxes(problems, "reply_to", spec.ReplyTo);
        if (spec.To.Count + spec.Cc.Count + spec.Bcc.Count == 0)
            problems.Add("to: at least one recipient (to, cc or bcc) is required");

        if (spec.Subject is { } subject && !AddressSyntax.IsValidHeaderText(subject))
            problems.Add("subject: may not contain line breaks, control characters or unpaired surrogates");
        CheckBody(problems, "text", spec.Text);
        CheckBody(problems, "html", spec.Html);

        var contentIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < spec.Attachments.Count; i++)
            CheckAttachment(problems, $"attachments[{i}]", spec.Attachments[i], contentIds);

        foreach (var (name, value) in spec.Headers)
            CheckHeader(problems, name, value);

        if (spec.MessageId is { } id && !AddressSyntax.IsValidId(AddressSyntax.StripAngles(id), requireAt: true))
            problems.Add($"message_id: '{id}' is not a message id (id@domain)");
        return problems;
    }

    private static void CheckMailboxes(List<string> problems, string field, IList<MailAddress> mailboxes)
    {
        for (var i = 0; i < mailboxes.Count; i++)
        {
            if (mailboxes[i] is null)
                problems.Add($"{field}[{i}]: is required");
            else
                CheckMailbox(problems, $"{field}[{i}]", mailboxes[i]);
        }
    }

    private static void CheckMailbox(List<string> problems, string field, MailAddress mailbox)
    {
        if (!MailAddress.IsValidAddress(mailbox.Address))
            problems.Add($"{field}: '{mailbox.Address}' is not an email address");
        if (mailbox.DisplayName is { } name && !AddressSyntax.IsValidDisplayName(name))
            problems.Add($"{field}.name: may not contain line breaks, tabs, control characters or unpaired surrogates");
    }

    private static void CheckBody(List<string> problems, string field, string? body)
    {
        if (body is not null && AddressSyntax.HasLoneSurrogate(body))
            problems.Add($"{field}: contains an unpaired surrogate (not valid Unicode)");
    }

    private static void CheckAttachment(List<string> problems, string field, MimeAttachment? attachment, HashSet<string> contentIds)
    {
        if (attachment is null)
        {
            problems.Add($"{field}: is required");
            return;
        }
        if (string.IsNullOrEmpty(attachment.FileName))
            problems.Add($"{field}.filename: is required");
        else if (attachment.FileName.Length > MaxFileNameLength)
            problems.Add($"{field}.filename: longer than {MaxFileNameLength} characters");
        else if (!AddressSyntax.IsValidHeaderText(attachment.FileName) || attachment.FileName.Contains('\t'))
            problems.Add($"{field}.filename: may not contain control characters or unpaired surrogates");

        if (string.IsNullOrEmpty(attachment.ContentType))
            problems.Add($"{field}.content_type: is required");
        else if (!MediaType.TryParse(attachment.ContentType, out var mediaType))
            problems.Add($"{field}.content_type: '{attachment.ContentType}' is not a media type (type/subtype)");
        else if (mediaType!.Type is "multipart" or "message")
            problems.Add($"{field}.content_type: {mediaType.Type}/* cannot be attached as base64");
        else
        {
            foreach (var (name, value) in mediaType.Parameters)
            {
                if (name is "name" or "boundary")
                    problems.Add($"{field}.content_type: the '{name}' parameter is written by Hermod");
                else if (!Rfc2231.IsPrintableAscii(value))
                    problems.Add($"{field}.content_type: parameter '{name}' must be ASCII");
            }
        }

        if (attachment.ContentId is { } id)
        {
            var bare = AddressSyntax.StripAngles(id);
            if (!AddressSyntax.IsValidId(bare, requireAt: false))
                problems.Add($"{field}.content_id: '{id}' is not a content id (such as logo@example.com)");
            else if (!contentIds.Add(bare))
                problems.Add($"{field}.content_id: '{id}' is used by another part");
        }
    }

    private static void CheckHeader(List<string> problems, string name, string? value)
    {
        if (!IsFieldName(name))
        {
            problems.Add($"headers: '{Printable(name)}' is not a header name (printable ASCII, no ':')");
            return;
        }
        if (name.Length > MaxFieldNameLength)
        {
            problems.Add($"headers: '{name[..20]}...' is longer than {MaxFieldNameLength} characters");
            return;
        }
        if (OwnedHeaders.Contains(name) || name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"headers.{name}: may not be set");
            return;
        }
        if (value is null)
            problems.Add($"headers.{name}: a value is required");
        else if (value.Contains('\r') || value.Contains('\n'))
            problems.Add($"headers.{name}: may not contain line breaks");
        else if (!AddressSyntax.IsValidHeaderText(value))
            problems.Add($"headers.{name}: may not contain control characters or unpaired surrogates");
        else if (name.Length + LongestWord(value) > HeaderBuilder.MaxPlainWord && Ascii.IsValid(value))
            problems.Add($"headers.{name}: has a word too long to fold (over {HeaderBuilder.MaxPlainWord} characters)");
    }

    /// <summary>RFC 5322 field-name: printable ASCII except ':', at least one.</summary>
    private static bool IsFieldName(string? name)
    {
        if (string.IsNullOrEmpty(name))
            return false;
        foreach (var c in name)
        {
            if (c is < '!' or > '~' or ':')
                return false;
        }
        return true;
    }

    private static int LongestWord(string value)
    {
        int longest = 0, run = 0;
        foreach (var c in value)
        {
            run = c == ' ' ? 0 : run + 1;
            longest = Math.Max(longest, run);
        }
        return longest;
    }

    private static string Printable(string? name)
    {
        if (name is null)
            return "";
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
            sb.Append(char.IsControl(c) ? '?' : c);
        return sb.ToString();
    }
}
