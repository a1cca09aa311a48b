using System.Buffers;
using System.Text;

namespace Hermod.Core.Smtp;

/// <summary>
/// An SMTP reply as a value (RFC 5321 4.2): the code, the RFC 3463 enhanced status code (or none) and the text, its
/// lines joined with '\n'. The server answers with it, the client parses it, the policy pipeline refuses with it, and
/// storage keeps the last one of each delivery. Code 0 is no reply at all (the next hop could not be reached, a DNS
/// failure): the enhanced status code and the text say why; it is recorded, never written to a client.
/// </summary>
public sealed record SmtpReply
{
    public SmtpReply(int code, EnhancedStatusCode enhanced, string text)
    {
        if (code is not (0 or (>= 200 and <= 599)))
            throw new ArgumentOutOfRangeException(nameof(code), code, "An SMTP reply code is 200-599 (0: no reply).");
        ArgumentNullException.ThrowIfNull(text);
        Code = code;
        Enhanced = enhanced;
        Text = text;
    }

    /// <summary>
    /// Our own fault (a component failed, storage did not take the message): the client is asked to try again later in
    /// words that name no component; the cause goes to the log.
    /// </summary>
    public static readonly SmtpReply LocalError = new(451, new(4, 3, 0), "Local error in processing, try again later");

    public int Code { get; }

    public EnhancedStatusCode Enhanced { get; }

    /// <summary>The text; several lines are joined with '\n'.</summary>
    public string Text { get; init; }

    /// <summary>2xx and 3xx: completed, or go on.</summary>
    public bool IsPositive => Code is >= 200 and < 400;

    /// <summary>5xx (with no reply, a 5.x.x status): a failure that trying again will not mend.</summary>
    public bool IsPermanent => Class == 5;

    /// <summary>4xx (with no reply, a 4.x.x status): a failure that may pass.</summary>
    public bool IsTransient => Class == 4;

    private int Class => Code != 0 ? Code / 100 : Enhanced.Class;

    /// <summary>
    /// Writes "CODE[-| ][ENHANCED ]LINE\r\n" for each line of <see cref="Text"/> ("-" before every line but the last)
    /// as UTF-8 straight into <paramref name="output"/>: no string is made per reply (every command is answered).
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var text = Text.AsSpan();
        while (true)
        {
            var end = text.IndexOf('\n');
            var line = end < 0 ? text : text[..end];
            var span = output.GetSpan(6 + EnhancedStatusCode.MaxLength + Encoding.UTF8.GetMaxByteCount(line.Length));
            span[0] = (byte)('0' + (Code / 100));
            span[1] = (byte)('0' + (Code / 10 % 10));
            span[2] = (byte)('0' + (Code % 10));
            span[3] = end < 0 ? (byte)' ' : (byte)'-';
            var at = 4;
            if (!Enhanced.IsNone)
            {
                Enhanced.TryFormat(span[at..], out var written);
                at += written;
                span[at++] = (byte)' ';
            }
            at += Encoding.UTF8.GetBytes(line, span[at..]);
            span[at++] = (byte)'\r';
            span[at++] = (byte)'\n';
            output.Advance(at);
            if (end < 0)
                return;
            text = text[(end + 1)..];
        }
    }

    /// <summary>"CODE [ENHANCED ]TEXT", the form logs and HTTP problem documents show.</summary>
    public override string ToString() => Enhanced.IsNone ? $"{Code} {Text}" : $"{Code} {Enhanced} {Text}";
}
