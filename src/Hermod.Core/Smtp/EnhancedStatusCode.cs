using System.Globalization;

namespace Hermod.Core.Smtp;

/// <summary>
/// An RFC 3463 enhanced status code, class.subject.detail ("5.1.1"): class 2 (success), 4 (persistent transient
/// failure) or 5 (permanent failure); subject and detail 0–999. <see cref="None"/> (the default) is a reply without
/// one; its text form is "".
/// </summary>
public readonly record struct EnhancedStatusCode : ISpanFormattable, IUtf8SpanFormattable
{
    /// <summary>The longest text form: "5.999.999".</summary>
    public const int MaxLength = 9;

    private readonly byte _class;
    private readonly short _subject;
    private readonly short _detail;

    public EnhancedStatusCode(int @class, int subject, int detail)
    {
        if (@class is not (2 or 4 or 5))
            throw new ArgumentOutOfRangeException(nameof(@class), @class, "The class of an enhanced status code is 2, 4 or 5.");
        ArgumentOutOfRangeException.ThrowIfNegative(subject);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(subject, 999);
        ArgumentOutOfRangeException.ThrowIfNegative(detail);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(detail, 999);
        _class = (byte)@class;
        _subject = (short)subject;
        _detail = (short)detail;
    }

    /// <summary>No enhanced status code.</summary>
    public static EnhancedStatusCode None => default;

    public bool IsNone => _class == 0;

    /// <summary>2, 4 or 5; 0 for <see cref="None"/>.</summary>
    public int Class => _class;

    public int Subject => _subject;

    public int Detail => _detail;

    /// <summary>Characters (and UTF-8 bytes) of the text form; 0 for <see cref="None"/>.</summary>
    public int Length => IsNone ? 0 : 3 + Digits(_subject) + Digits(_detail);

    /// <summary>Reads the text form <see cref="ToString()"/> gives ("" is <see cref="None"/>).</summary>
    /// <exception cref="FormatException">The text is not an enhanced status code.</exception>
    public static EnhancedStatusCode Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var code) ? code : throw new FormatException($"'{text}' is not an enhanced status code (class.subject.detail, RFC 3463)");
    }

    /// <summary>
    /// Reads "class.subject.detail" (RFC 3463 2: class 2, 4 or 5; 1–3 digits each for subject and detail), or "" as
    /// <see cref="None"/>; false for anything else. Leading zeros, which the RFC forbids a sender, are read (as
    /// replies and stored rows always were) and formatted away.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out EnhancedStatusCode code)
    {
        code = default;
        if (text.IsEmpty)
            return true;
        if (text.Length < 5 || text[0] is not ('2' or '4' or '5') || text[1] != '.')
            return false;
        var rest = text[2..];
        var dot = rest.IndexOf('.');
        if (dot < 0 || !TryNumber(rest[..dot], out var subject) || !TryNumber(rest[(dot + 1)..], out var detail))
            return false;
        code = new EnhancedStatusCode(text[0] - '0', subject, detail);
        return true;
    }

    private static bool TryNumber(ReadOnlySpan<char> digits, out int value)
    {
        value = 0;
        if (digits.Length is 0 or > 3)
            return false;
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
                return false;
            value = (value * 10) + (c - '0');
        }
        return true;
    }

    /// <summary>"class.subject.detail", or "" for <see cref="None"/>.</summary>
    public override string ToString() => IsNone ? "" : string.Create(CultureInfo.InvariantCulture, $"{_class}.{_subject}.{_detail}");

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format = default, IFormatProvider? provider = null)
    {
        if (IsNone)
        {
            charsWritten = 0;
            return true;
        }
        return destination.TryWrite(CultureInfo.InvariantCulture, $"{_class}.{_subject}.{_detail}", out charsWritten);
    }

    /// <summary>The text form as UTF-8 (ASCII) digits, written straight into <paramref name="utf8Destination"/>: the reply writer's path.</summary>
    public bool TryFormat(Span<byte> utf8Destination, out int bytesWritten, ReadOnlySpan<char> format = default, IFormatProvider? provider = null)
    {
        var length = Length;
        if (utf8Destination.Length < length)
        {
            bytesWritten = 0;
            return false;
        }
        if (length > 0)
        {
            utf8Destination[0] = (byte)('0' + _class);
            utf8Destination[1] = (byte)'.';
            var at = Put(utf8Destination, 2, _subject);
            utf8Destination[at++] = (byte)'.';
            Put(utf8Destination, at, _detail);
        }
        bytesWritten = length;
        return true;
    }

    private static int Digits(int value) => value >= 100 ? 3 : value >= 10 ? 2 : 1;

    private static int Put(Span<byte> destination, int at, int value)
    {
        if (value >= 100)
            destination[at++] = (byte)('0' + (value / 100));
        if (value >= 10)
            destination[at++] = (byte)('0' + (value / 10 % 10));
        destination[at++] = (byte)('0' + (value % 10));
        return at;
    }
}
