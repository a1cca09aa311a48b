using System.Text;
using Hermod.Mime.Codecs;
using Hermod.Mime.Syntax;

namespace Hermod.Mime.Writing;

/// <summary>
/// Builds one header field, folded (RFC 5322 section 2.2.3): a fold is a CRLF put before existing white space, so
/// unfolding gives the text back. Lines are kept to 78 octets where the content allows it; only a single word longer
/// than that (a long address, a long quoted name) makes a longer line, and callers keep those under 998.
/// </summary>
internal sealed class HeaderBuilder
{
    /// <summary>RFC 5322 section 2.1.1: lines SHOULD be at most 78 characters...</summary>
    public const int LineLimit = 78;

    /// <summary>...and MUST be at most 998.</summary>
    public const int HardLimit = 998;

    /// <summary>The longest run of plain text we leave unencoded in a line of its own (well under <see cref="HardLimit"/>).</summary>
    public const int MaxPlainWord = 900;

    /// <summary>Below this room an encoded word is not worth starting at the end of a line.</summary>
    private const int MinEncodedWordRoom = 20;

    private readonly StringBuilder _text = new();
    private int _column;
    private bool _lineHasToken;

    public HeaderBuilder(string name)
    {
        _text.Append(name).Append(':');
        _column = name.Length + 1;
    }

    /// <summary>The field with its CRLF.</summary>
    public override string ToString() => _text.ToString() + "\r\n";

    /// <summary>Appends " " + <paramref name="word"/>, folding before the space when the word would pass the line limit.</summary>
    public HeaderBuilder Word(string word) => Segment(" " + word);

    /// <summary>
    /// Appends text that starts with white space (a fold point) and holds no other fold point that is needed; folds
    /// before it when it would pass the line limit and the line already holds something.
    /// </summary>
    public HeaderBuilder Segment(string segment)
    {
        var octets = Encoding.UTF8.GetByteCount(segment);
        if (_lineHasToken && _column + octets > LineLimit)
            Fold();
        _text.Append(segment);
        _column += octets;
        _lineHasToken = true;
        return this;
    }

    /// <summary>
    /// Appends <paramref name="text"/> as a run of encoded words separated by folding white space (a decoder drops
    /// that white space, so the run decodes to exactly the text). Each word is sized to the room left on its line.
    /// </summary>
    public HeaderBuilder Encoded(string text)
    {
        var q = EncodedWords.PreferQ(text);
        var rest = text.AsSpan();
        var word = new StringBuilder(EncodedWords.MaxLength + 1);
        while (!rest.IsEmpty)
        {
            var room = Math.Min(EncodedWords.MaxLength, LineLimit - _column - 1);
            if (room < Math.Max(EncodedWords.FirstWordLength(rest, q), MinEncodedWordRoom))
            {
                Fold();
                room = EncodedWords.MaxLength;
            }
            word.Clear().Append(' ');
            rest = rest[EncodedWords.AppendWord(rest, q, room, word)..];
            _text.Append(word);
            _column += word.Length;
            _lineHasToken = true;
        }
        return this;
    }

    /// <summary>
    /// Appends unstructured text (RFC 5322 section 3.2.5): printable ASCII stays as it is, folded at its white space;
    /// anything else (non-ASCII, a tab, something that looks like an encoded word, edge white space, a word too long
    /// to fold) makes the whole text a run of encoded words.
    /// </summary>
    public HeaderBuilder Unstructured(string text)
    {
        if (text.Length == 0)
            return this;
        return NeedsEncoding(text) ? Encoded(text) : Plain(text);
    }

    /// <summary>
    /// Appends a field value given by a caller (an extra header): printable ASCII goes out as it is, folded at its
    /// spaces (it may be structured: a URL, message ids), anything else as encoded words.
    /// </summary>
    public HeaderBuilder Verbatim(string text)
    {
        if (text.Length == 0)
            return this;
        foreach (var c in text)
        {
            if (c is (< ' ' and not '\t') or > '~')
                return Encoded(text);
        }
        return Plain(text);
    }

    private HeaderBuilder Plain(string text)
    {
        var pos = 0;
        while (pos < text.Length)
        {
            var start = pos;
            while (pos < text.Length && text[pos] == ' ')
                pos++;
            while (pos < text.Length && text[pos] != ' ')
                pos++;
            Segment(start == 0 ? " " + text[..pos] : text[start..pos]);
        }
        return this;
    }

    /// <summary>True when unstructured text cannot be written as plain folded ASCII.</summary>
    public static bool NeedsEncoding(string text)
    {
        if (text.Length == 0)
            return false;
        if (text[0] == ' ' || text[^1] == ' ' || text.Contains("=?", StringComparison.Ordinal) || !Rfc2231.IsPrintableAscii(text))
            return true;
        var run = 0;
        var inWord = false;
        foreach (var c in text)
        {
            if (c == ' ' && inWord)
                run = 0;
            inWord = c != ' ';
            if (++run > MaxPlainWord)
                return true;
        }
        return false;
    }

    /// <summary>
    /// Appends a mailbox: <c>a@b</c>, <c>Name &lt;a@b&gt;</c>, <c>"Quoted, Name" &lt;a@b&gt;</c>, or with encoded words
    /// for the words of the name that need them (see <see cref="Phrase"/>).
    /// </summary>
    public HeaderBuilder Mailbox(MailAddress mailbox, bool last)
    {
        var trailer = last ? "" : ",";
        var name = NormalizeName(mailbox.DisplayName);
        if (name.Length == 0)
            return Word(mailbox.Address + trailer);
        Phrase(name);
        return Word("<" + mailbox.Address + ">" + trailer);
    }

    /// <summary>
    /// A display name as it is written: runs of spaces become one and edge spaces go. In a phrase white space is
    /// only a separator (RFC 5322 section 3.2.2), and parsers treat it so: Python collapses runs inside encoded
    /// words, mailparser trims the edges; normalising here makes every reader see the same name.
    /// </summary>
    public static string NormalizeName(string? name) =>
        name is null ? "" : string.Join(' ', name.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>
    /// Appends a display name (RFC 5322 phrase). Atoms stay as they are; printable ASCII with specials is quoted;
    /// anything else is encoded. Encoded text is kept to as few encoded words as possible, and words of the name that
    /// are plain atoms stay between them as they are: decoders disagree about the white space between two adjacent
    /// encoded words in a phrase (RFC 2047 section 6.2 drops it; Python before 3.14, gh-128110, keeps a space), so
    /// adjacent encoded words are written only when one run of encoded text does not fit in 75 characters.
    /// </summary>
    public HeaderBuilder Phrase(string name)
    {
        if (IsAtomPhrase(name))
        {
            foreach (var word in name.Split(' '))
                Word(word);
            return this;
        }
        if (Rfc2231.IsPrintableAscii(name) && !name.Contains("=?", StringComparison.Ordinal) && name.Length <= MaxQuotedName)
            return Word(Rfc2231.Quote(name));
        var words = name.Split(' ');
        for (var i = 0; i < words.Length;)
        {
            if (IsPlainAtom(words[i]))
            {
                Word(words[i++]);
                continue;
            }
            var j = i + 1;
            while (j < words.Length && !IsPlainAtom(words[j]))
                j++;
            EncodedRun(string.Join(' ', words[i..j]));
            i = j;
        }
        return this;
    }

    /// <summary>Encoded text in one word when it fits one (on a new line if need be), else as <see cref="Encoded"/> does.</summary>
    private HeaderBuilder EncodedRun(string text)
    {
        var single = EncodedWords.SingleWordLength(text, EncodedWords.PreferQ(text));
        if (single > EncodedWords.MaxLength)
            return Encoded(text);
        if (_column + 1 + single > LineLimit)
            Fold();
        return Encoded(text);
    }

    private const int MaxQuotedName = 70;

    private static bool IsPlainAtom(string word)
    {
        if (word.Length == 0 || word.Length > MaxQuotedName || word.Contains("=?", StringComparison.Ordinal))
            return false;
        foreach (var c in word)
        {
            if (!AddressSyntax.IsAtext(c))
                return false;
        }
        return true;
    }

    /// <summary>A display name that can go out as it is: atoms separated by single spaces.</summary>
    private static bool IsAtomPhrase(string name)
    {
        foreach (var word in name.Split(' '))
        {
            if (!IsPlainAtom(word))
                return false;
        }
        return true;
    }

    /// <summary>Appends an address list.</summary>
    public HeaderBuilder Mailboxes(IList<MailAddress> mailboxes)
    {
        for (var i = 0; i < mailboxes.Count; i++)
            Mailbox(mailboxes[i], i == mailboxes.Count - 1);
        return this;
    }

    /// <summary>Appends <c>value; p1; p2</c>, each parameter folded as a unit.</summary>
    public HeaderBuilder WithParameters(string value, IReadOnlyList<string> parameters)
    {
        Word(parameters.Count > 0 ? value + ";" : value);
        for (var i = 0; i < parameters.Count; i++)
            Word(i < parameters.Count - 1 ? parameters[i] + ";" : parameters[i]);
        return this;
    }

    private void Fold()
    {
        _text.Append("\r\n");
        _column = 0;
        _lineHasToken = false;
    }
}
