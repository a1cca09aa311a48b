using System.Text;
using Hermod.Mime.Codecs;
using Hermod.Mime.Tests.TestKit;

namespace Hermod.Mime.Tests.Codecs;

public class QuotedPrintableTests
{
    private static string RoundTrip(string text)
    {
        var encoded = QuotedPrintable.Encode(text);
        var decoded = Decode.Utf8(Decode.QuotedPrintable(encoded));
        Assert.Equal(text.Replace("\r\n", "\n").Replace('\r', '\n').Replace("\n", "\r\n"), decoded);
        return encoded;
    }

    [Theory]
    [InlineData("a=b", "a=3Db")]
    [InlineData("===", "=3D=3D=3D")]
    [InlineData("Grüße", "Gr=C3=BC=C3=9Fe")]
    [InlineData("tab\there", "tab\there")]
    [InlineData("trailing ", "trailing=20")]
    [InlineData("trailing\t", "trailing=09")]
    [InlineData("two  ", "two =20")]
    [InlineData("  ", " =20")]
    [InlineData("a \nb\t\r\nc", "a=20\r\nb=09\r\nc")]
    [InlineData(".", "=2E")]
    [InlineData(".hidden\n..", "=2Ehidden\r\n=2E.")]
    [InlineData("From me", "=46rom me")]
    [InlineData("From", "From")]
    [InlineData("from me", "from me")]
    [InlineData("a.From me", "a.From me")]
    [InlineData("nul\0", "nul=00")]
    [InlineData("\u2028", "=E2=80=A8")]
    [InlineData("", "")]
    [InlineData("\n", "\r\n")]
    public void Encodes(string text, string expected) => Assert.Equal(expected, RoundTrip(text));

    [Fact]
    public void Line_ends_become_crlf()
    {
        Assert.Equal("a\r\nb\r\nc\r\n\r\nd\r\n", QuotedPrintable.Encode("a\rb\nc\r\n\rd\n"));
    }

    [Theory]
    [InlineData(75, 1)]
    [InlineData(76, 1)] // a final segment may use all 76 columns
    [InlineData(77, 2)]
    [InlineData(150, 2)]
    [InlineData(151, 2)] // 75 + '=', then a final 76
    [InlineData(152, 3)]
    [InlineData(1000, 14)]
    public void Soft_line_breaks_keep_lines_to_76(int length, int lines)
    {
        var encoded = RoundTrip(new string('x', length));

        var split = encoded.Split("\r\n");
        Assert.Equal(lines, split.Length);
        Assert.All(split[..^1], l => Assert.Equal(76, l.Length));
        Assert.All(split[..^1], l => Assert.EndsWith("=", l));
    }

    [Fact]
    public void Escapes_and_characters_are_never_split_by_a_soft_break()
    {
        foreach (var tail in new[] { "=", "é", "日", "😀", " x", "\t", "==", "é😀日=" })
        {
            for (var prefix = 60; prefix <= 80; prefix++)
            {
                var text = new string('x', prefix) + string.Concat(Enumerable.Repeat(tail, 30));
                var encoded = RoundTrip(text);
                // Every soft-broken line decodes to whole UTF-8 characters on its own.
                foreach (var line in encoded.Split("\r\n"))
                    Decode.Utf8(Decode.QuotedPrintable(line.EndsWith('=') ? line : line + "="));
            }
        }
    }

    [Fact]
    public void A_soft_break_before_a_dot_or_from_escapes_it()
    {
        var encoded = RoundTrip(new string('x', 75) + ".dot" + "\n" + new string('y', 75) + "From me");

        var lines = encoded.Split("\r\n");
        Assert.Equal("=2Edot", lines[1]);
        Assert.Equal("=46rom me", lines[3]);
    }

    [Fact]
    public void White_space_at_a_soft_break_stays_literal_and_at_a_line_end_is_escaped()
    {
        var text = new string('x', 74) + "  " + new string('y', 5) + " ";
        var encoded = RoundTrip(text);

        Assert.Equal(new string('x', 74) + " =\r\n yyyyy=20", encoded);
    }

    [Fact]
    public void Random_text_round_trips()
    {
        var random = new Random(42);
        var alphabet = "ab =\t.Fé日😀\r\n-_?".EnumerateRunes().Select(r => r.ToString()).ToArray();
        for (var i = 0; i < 300; i++)
        {
            var sb = new StringBuilder();
            var length = random.Next(0, 400);
            for (var j = 0; j < length; j++)
                sb.Append(alphabet[random.Next(alphabet.Length)]);
            RoundTrip(sb.ToString());
        }
    }
}
