namespace Hermod.Mime;

/// <summary>
/// A file carried by the message, written base64. With a <see cref="ContentId"/> it is an inline part (for example an
/// image the HTML refers to as <c>cid:logo@example</c>) placed next to the HTML in multipart/related; without one it
/// is an attachment (Content-Disposition: attachment).
/// </summary>
/// <param name="FileName">Plain Unicode file name (RFC 2231 encoded when it is not ASCII), at most 255 characters.</param>
/// <param name="ContentType">Media type such as <c>image/png</c>, optionally with parameters (<c>text/csv; charset=utf-8</c>).</param>
/// <param name="Content">The bytes.</param>
/// <param name="ContentId">The Content-ID without angle brackets (<c>logo@example</c>), or null for an attachment.</param>
public sealed record MimeAttachment(string FileName, string ContentType, ReadOnlyMemory<byte> Content, string? ContentId = null)
{
    /// <summary>True when the part is shown inline (it has a Content-ID).</summary>
    public bool IsInline => ContentId is not null;
}
