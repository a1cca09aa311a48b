using System.Text;
using Hermod.Mime.Codecs;
using Hermod.Mime.Tests.TestKit;
using Hermod.Mime.Writing;

namespace Hermod.Mime.Tests.Codecs;

public class EncodedWordsTests
{
    /// <summary>Characters of 1, 2, 3 and 4 UTF-8 bytes, a combining mark, a ZWJ sequence, Q-special ASCII.</summary>
    public static readonly string[] Samples =
    [
        "Grüße aus Köln, schöne Grüße!",
        "Ελληνικά κείμενα",
        "日本語の件名です東京都",
        "😀👩‍👩‍👧‍👦🇳🇴🎉",
        "e\u0301 mixed ASCII and ü_=?*!/+- \"quotes\" (x) <y>",
        "a\u00e9\u4e2d\U0001F600",
    ];

    public static IEnumerable<object[]> HeaderNames() => new[] { "Subject", "X-" + new string('h', 30), "X-" + new string('h', 56), "X-" + new string('h', 70) }.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(HeaderNames))]
    public void Every_length_of_every_script_folds_into_short_words_that_decode_alone(string headerName)
    {
        foreach (var sample in Samples)
        {
            var text = string.Concat(Enumerable.Repeat(sample, 8));
            // Every prefix that ends on a whole character: 1, 2, ... characters, crossing each word-size boundary.
            for (var length = 1; length <= text.Length; length++)
            {
                if (char.IsHighSurrogate(text[length - 1]))
                    continue;
                var value = text[..length];
                var field = new HeaderBuilder(headerName).Encoded(value).ToString();

                var lines = Decode.Lines(field);
                Assert.All(lines, line => Assert.True(Encoding.UTF8.GetByteCount(line) <= 78, $"line over 78: {line}"));
                var words = Decode.Unfold(field).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var decoded = new StringBuilder();
                foreach (var word in words)
                {
                    Assert.True(word.Length <= EncodedWords.MaxLength, $"encoded word over 75: {word}");
                    decoded.Append(Decode.Utf8(Decode.EncodedWordBytes(word))); // throws if a UTF-8 sequence was split
                }
                Assert.Equal(value, decoded.ToString());
            }
        }
    }

    [Fact]
    public void A_word_holds_whole_characters_for_every_size_limit()
    {
        foreach (var sample in Samples)
        {
            var text = string.Concat(Enumerable.Repeat(sample, 4));
            foreach (var q in new[] { true, false })
            {
                // 24: the longest single character, a 4-byte one in Q, is 12 + 12.
                for (var max = 24; max <= 75; max++)
                {
                    var rest = text.AsSpan();
                    var decoded = new StringBuilder();
                    while (!rest.IsEmpty)
                    {
                        var sb = new StringBuilder();
                        var consumed = EncodedWords.AppendWord(rest, q, max, sb);
                        Assert.True(consumed > 0);
                        Assert.True(sb.Length <= max, $"{sb} is over {max}");
                        decoded.Append(Decode.Utf8(Decode.EncodedWordBytes(sb.ToString())));
                        rest = rest[consumed..];
                    }
                    Assert.Equal(text, decoded.ToString());
                }
            }
        }
    }

    [Theory]
    [InlineData("é", 22, "x", 45)] // 45 bytes: 60 base64 characters + 12 = 72, the most a word holds
    [InlineData("é", 23, "", 44)] // the 23rd é (bytes 45-46) would make 64 + 12 = 76: it goes to the next word
    [InlineData("日", 15, "", 45)]
    [InlineData("日", 16, "", 45)]
    [InlineData("😀", 11, "", 44)]
    [InlineData("😀", 12, "", 44)]
    public void B_words_hold_up_to_45_bytes_of_whole_characters(string character, int count, string tail, int firstWordBytes)
    {
        var text = string.Concat(Enumerable.Repeat(character, count)) + tail;
        var sb = new StringBuilder();

        var consumed = EncodedWords.AppendWord(text, q: false, EncodedWords.MaxLength, sb);

        Assert.True(sb.Length <= EncodedWords.MaxLength);
        Assert.Equal(firstWordBytes, Encoding.UTF8.GetByteCount(text[..consumed]));
        Assert.Equal(text[..consumed], Decode.Utf8(Decode.EncodedWordBytes(sb.ToString())));
    }

    [Theory]
    [InlineData("a b_c=d?e\"f(g)h", "=?utf-8?Q?a_b=5Fc=3Dd=3Fe=22f=28g=29h?=")]
    [InlineData(",i.j:k<l>m@n;o", "=?utf-8?Q?=2Ci=2Ej=3Ak=3Cl=3Em=40n=3Bo?=")]
    [InlineData("[p]q\\r\tü!*+-/", "=?utf-8?Q?=5Bp=5Dq=5Cr=09=C3=BC!*+-/?=")]
    public void Q_escapes_what_a_phrase_cannot_hold(string text, string expected)
    {
        var sb = new StringBuilder();
        EncodedWords.AppendWord(text, q: true, 75, sb);

        Assert.Equal(expected, sb.ToString());
    }

    [Theory]
    [InlineData("Empfänger Nummer", true)]
    [InlineData("Grüße", false)]
    [InlineData("日本語", false)]
    [InlineData("😀", false)]
    [InlineData("ab", true)]
    public void Q_for_mostly_ascii_B_for_the_rest(string text, bool q) => Assert.Equal(q, EncodedWords.PreferQ(text));

    [Fact]
    public void A_lone_surrogate_becomes_a_replacement_character_not_broken_utf8()
    {
        var sb = new StringBuilder();
        EncodedWords.AppendWord("a\ud800b", q: true, 75, sb);

        Assert.Equal("a\ufffdb", Decode.Utf8(Decode.EncodedWordBytes(sb.ToString())));
    }
}
