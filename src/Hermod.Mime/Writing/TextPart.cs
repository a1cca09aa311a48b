using Hermod.Mime.Codecs;

namespace Hermod.Mime.Writing;

/// <summary>text/plain or text/html in UTF-8: 7bit when it is short-lined ASCII, else quoted-printable.</summary>
internal sealed class TextPart : MimePart
{
    /// <summary>RFC 5322 section 2.1.1: 998 octets per line, CRLF excluded.</summary>
    private const int MaxSevenBitLine = 998;

    private readonly string _subtype;
    private readonly string _text;
    private readonly bool _quotedPrintable;

    public TextPart(string subtype, string text)
    {
        _subtype = subtype;
        _text = text;
        _quotedPrintable = NeedsQuotedPrintable(text);
    }

    public override bool BodyEndsWithLineEnd => _text.Length == 0 || TextLines.EndsWithLineEnd(_text);

    /// <summary>True unless the text is ASCII without control characters (tab and line ends aside) in lines of at most 998.</summary>
    public static bool NeedsQuotedPrintable(string text)
    {
        var lineLength = 0;
        foreach (var c in text)
        {
            if (c is '\r' or '\n')
            {
                lineLength = 0;
                continue;
            }
            if ((c < ' ' && c != '\t') || c > '~' || ++lineLength > MaxSevenBitLine)
                return true;
        }
        return false;
    }

    public override IEnumerable<string> SevenBitContent() => _quotedPrintable ? [] : [_text];

    public override IEnumerable<string> Headers()
    {
        yield return new HeaderBuilder("Content-Type").WithParameters("text/" + _subtype, ["charset=utf-8"]).ToString();
        yield return _quotedPrintable ? "Content-Transfer-Encoding: quoted-printable\r\n" : "Content-Transfer-Encoding: 7bit\r\n";
    }

    public override async ValueTask WriteBodyAsync(MimeOutput output, CancellationToken cancellationToken)
    {
        var pos = 0;
        var first = true;
        while (TextLines.Next(_text, ref pos, out var line))
        {
            if (!first)
                output.Write("\r\n"u8);
            first = false;
            if (_quotedPrintable)
                QuotedPrintable.EncodeLine(line, output);
            else
                System.Text.EncodingExtensions.GetBytes(System.Text.Encoding.ASCII, line, output);
            await output.FlushIfFullAsync(cancellationToken);
        }
    }
}
