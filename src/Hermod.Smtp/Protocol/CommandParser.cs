using System.Buffers;
using System.Text;

namespace Hermod.Smtp.Protocol;

/// <summary>Command-line framing and verb recognition. No I/O: callers feed buffers and get "need more data" as false.</summary>
public static class CommandParser
{
    public enum LineStatus { Complete, NeedMore, TooLong }

    private static readonly (byte[] Name, SmtpVerb Verb)[] Verbs =
    [
        ("HELO"u8.ToArray(), SmtpVerb.Helo), ("EHLO"u8.ToArray(), SmtpVerb.Ehlo), ("MAIL"u8.ToArray(), SmtpVerb.Mail),
        ("RCPT"u8.ToArray(), SmtpVerb.Rcpt), ("DATA"u8.ToArray(), SmtpVerb.Data), ("BDAT"u8.ToArray(), SmtpVerb.Bdat),
        ("RSET"u8.ToArray(), SmtpVerb.Rset), ("NOOP"u8.ToArray(), SmtpVerb.Noop), ("QUIT"u8.ToArray(), SmtpVerb.Quit),
        ("VRFY"u8.ToArray(), SmtpVerb.Vrfy), ("EXPN"u8.ToArray(), SmtpVerb.Expn), ("HELP"u8.ToArray(), SmtpVerb.Help),
        ("STARTTLS"u8.ToArray(), SmtpVerb.StartTls), ("AUTH"u8.ToArray(), SmtpVerb.Auth),
    ];

    /// <summary>
    /// Reads one line ending in LF (a CR before it is dropped). A line whose length with its ending
    /// would exceed <paramref name="maxLength"/> is <see cref="LineStatus.TooLong"/> and nothing is consumed.
    /// </summary>
    public static LineStatus TryReadLine(ref SequenceReader<byte> reader, int maxLength, out ReadOnlySequence<byte> line)
    {
        var window = reader.UnreadSequence;
        if (window.Length > maxLength)
            window = window.Slice(0, maxLength);
        var lf = window.PositionOf((byte)'\n');
        if (lf is null)
        {
            line = default;
            return window.Length >= maxLength ? LineStatus.TooLong : LineStatus.NeedMore;
        }
        line = window.Slice(0, lf.Value);
        reader.Advance(line.Length + 1);
        if (line.Length > 0 && line.Slice(line.Length - 1).FirstSpan[0] == '\r')
            line = line.Slice(0, line.Length - 1);
        return LineStatus.Complete;
    }

    /// <summary>Skips to just past the next LF; false (everything consumed) when there is none yet.</summary>
    public static bool TrySkipLine(ref SequenceReader<byte> reader)
    {
        if (reader.TryAdvanceTo((byte)'\n'))
            return true;
        reader.AdvanceToEnd(); // TryAdvanceTo does not move on failure; the long line's bytes must not be kept
        return false;
    }

    public static SmtpCommand Parse(ReadOnlySpan<byte> line)
    {
        var space = line.IndexOf((byte)' ');
        var verb = space < 0 ? line : line[..space];
        var argument = space < 0 ? [] : line[(space + 1)..];
        foreach (var (name, v) in Verbs)
            if (Ascii.EqualsIgnoreCase(verb, name))
                return new SmtpCommand(v, Decode(argument));
        return new SmtpCommand(SmtpVerb.Unknown, "");
    }

    private static string Decode(ReadOnlySpan<byte> argument) =>
        argument.IsEmpty ? "" : Encoding.UTF8.GetString(argument).Trim(' ');
}
