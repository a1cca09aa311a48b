namespace Hermod.Mime.Writing;

/// <summary>
/// A node of the MIME tree being written. A body is written without a CRLF after its last line: that CRLF belongs
/// to the boundary delimiter that follows it (RFC 2046 section 5.1.1).
/// </summary>
internal abstract class MimePart
{
    /// <summary>The Content-* fields, each ending in CRLF.</summary>
    public abstract IEnumerable<string> Headers();

    public abstract ValueTask WriteBodyAsync(MimeOutput output, CancellationToken cancellationToken);

    /// <summary>True when the body written ends in a line end (its last line is empty), so the message needs no CRLF after it.</summary>
    public abstract bool BodyEndsWithLineEnd { get; }

    /// <summary>The text parts written as 7bit, which a boundary must not occur in.</summary>
    public virtual IEnumerable<string> SevenBitContent() => [];

    public void WriteHeaders(MimeOutput output)
    {
        foreach (var header in Headers())
            output.Write(header);
    }
}
