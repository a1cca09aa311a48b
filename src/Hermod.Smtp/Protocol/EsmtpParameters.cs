using System.Diagnostics.CodeAnalysis;
using Hermod.Core.Smtp;

namespace Hermod.Smtp.Protocol;

/// <summary>
/// The esmtp-params after a MAIL or RCPT path (RFC 5321 4.1.2): "keyword[=value]" separated by spaces, walked in
/// place with <c>foreach</c> — nothing is split or copied (every MAIL and RCPT passes through here).
/// </summary>
public ref struct EsmtpParameters(ReadOnlySpan<char> text)
{
    private ReadOnlySpan<char> _rest = text;

    public EsmtpParameter Current { get; private set; }

    public readonly EsmtpParameters GetEnumerator() => this;

    public bool MoveNext()
    {
        _rest = _rest.TrimStart(' ');
        if (_rest.IsEmpty)
            return false;
        var end = _rest.IndexOf(' ');
        if (end < 0)
            end = _rest.Length;
        Current = new EsmtpParameter(_rest[..end]);
        _rest = _rest[end..];
        return true;
    }
}

/// <summary>One esmtp-param: its keyword and, after the first '=', its value ("KEY" has none, "KEY=" an empty one).</summary>
public readonly ref struct EsmtpParameter
{
    public EsmtpParameter(ReadOnlySpan<char> text)
    {
        Text = text;
        var eq = text.IndexOf('=');
        HasValue = eq >= 0;
        Keyword = HasValue ? text[..eq] : text;
        Value = HasValue ? text[(eq + 1)..] : default;
    }

    /// <summary>The whole parameter as sent.</summary>
    public ReadOnlySpan<char> Text { get; }

    public ReadOnlySpan<char> Keyword { get; }

    public ReadOnlySpan<char> Value { get; }

    public bool HasValue { get; }

    /// <summary>The keyword is letters, digits and '-' (esmtp-keyword); it is compared without regard to case.</summary>
    public bool IsWellFormed => !Keyword.IsEmpty && !Keyword.ContainsAnyExcept(PathParser.LettersDigitsHyphen);

    /// <summary>
    /// Which of <paramref name="keywords"/> (a command's, upper case) this parameter is: <paramref name="index"/>, and
    /// its bit set in <paramref name="seen"/>. False with the reply when the command does not take it (555) or it
    /// came before (501).
    /// </summary>
    public bool TryRecognize(ReadOnlySpan<string> keywords, ref int seen, out int index, [NotNullWhen(false)] out SmtpReply? error)
    {
        error = null;
        for (index = 0; index < keywords.Length; index++)
        {
            if (!Keyword.Equals(keywords[index], StringComparison.OrdinalIgnoreCase))
                continue;
            if ((seen & (1 << index)) != 0)
            {
                error = SmtpReplies.DuplicateParameter(keywords[index]);
                return false;
            }
            seen |= 1 << index;
            return true;
        }
        error = SmtpReplies.UnsupportedParameter(PathParser.Sanitize(Keyword.ToString().ToUpperInvariant()));
        return false;
    }
}
