namespace Hermod.Mime.Codecs;

/// <summary>Splits text into lines at CRLF, lone CR and lone LF (the line ends MIME bodies are normalised from).</summary>
internal static class TextLines
{
    /// <summary>
    /// Reads the line at <paramref name="pos"/> and moves past its line end. Returns false at the end of the text. A text
    /// that ends with a line end has an empty last line, so "a\n" is the lines "a" and "".
    /// </summary>
    public static bool Next(ReadOnlySpan<char> text, ref int pos, out ReadOnlySpan<char> line)
    {
        if (pos > text.Length)
        {
            line = default;
            return false;
        }
        var rest = text[pos..];
        var end = rest.IndexOfAny('\r', '\n');
        if (end < 0)
        {
            line = rest;
            pos = text.Length + 1;
            return true;
        }
        line = rest[..end];
        pos += end + (rest[end] == '\r' && end + 1 < rest.Length && rest[end + 1] == '\n' ? 2 : 1);
        return true;
    }

    /// <summary>True when the text ends with a line end (so its last line is empty).</summary>
    public static bool EndsWithLineEnd(string text) => text.Length > 0 && text[^1] is '\r' or '\n';
}
