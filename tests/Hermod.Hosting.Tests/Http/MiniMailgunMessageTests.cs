using System.Text;
using System.Text.RegularExpressions;
using Hermod.Hosting.Http.MiniMailgun;

namespace Hermod.Hosting.Tests.Http;

/// <summary>The message builder on its own: line ends, folding, encoded words, quoted-printable.</summary>
public sealed class MiniMailgunMessageTests
{
    [Theory]
    [InlineData("", new string[0])]
    [InlineData("one", new[] { "one" })]
    [InlineData("one\n", new[] { "one" })]
    [InlineData("a\r\nb\rc\nd", new[] { "a", "b", "c", "d" })]
    [InlineData("a\n\nb\n\n", new[] { "a", "", "b", "" })]
    [InlineData("\r\r\n", new[] { "", "" })]
    public void Every_kind_of_line_end_ends_a_line(string body, string[] lines) =>
        Assert.Equal(lines, MiniMailgunMessage.Lines(body));

    [Fact]
    public void A_long_ascii_subject_is_folded_at_spaces_and_unfolds_to_itself()
    {
        var subject = string.Join(' ', Enumerable.Range(0, 40).Select(i => $"word{i}"));
        var header = MiniMailgunMessage.SubjectHeader(subject);
        Assert.EndsWith("\r\n", header);
        var lines = header[..^2].Split("\r\n");
        Assert.True(lines.Length > 1);
        Assert.All(lines, l => Assert.True(l.Length <= 78, l));
        Assert.All(lines.Skip(1), l => Assert.StartsWith(" ", l));
        Assert.Equal("Subject: " + subject, header[..^2].Replace("\r\n", "", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Hello", "Subject: Hello\r\n")]
    [InlineData("", "Subject: \r\n")]
    [InlineData("tab\tinside", "Subject: tab\tinside\r\n")]
    [InlineData("é", "Subject: =?UTF-8?B?w6k=?=\r\n")]
    [InlineData("=?UTF-8?B?w6k=?=", "Subject: =?UTF-8?B?PT9VVEYtOD9CP3c2az0/PQ==?=\r\n")] // looks encoded: encoded for real
    [InlineData("bell\a", "Subject: =?UTF-8?B?YmVsbAc=?=\r\n")]
    public void Subjects_are_plain_or_encoded_words(string subject, string header) =>
        Assert.Equal(header, MiniMailgunMessage.SubjectHeader(subject));

    [Fact]
    public void Encoded_words_stay_within_75_characters_and_never_split_a_character()
    {
        var value = string.Concat(Enumerable.Repeat("日本語🎉é", 30));
        var words = MiniMailgunMessage.EncodedWords(value).Split("\r\n ");
        Assert.True(words.Length > 1);
        var decoded = new StringBuilder();
        foreach (var word in words)
        {
            Assert.True(word.Length <= 75, word);
            Assert.StartsWith("=?UTF-8?B?", word);
            Assert.EndsWith("?=", word);
            var bytes = Convert.FromBase64String(word[10..^2]);
            decoded.Append(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes)); // each word is whole UTF-8
        }
        Assert.Equal(value, decoded.ToString());
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("a=b", "a=3Db")]
    [InlineData("trailing ", "trailing=20")]
    [InlineData("tab\t", "tab=09")]
    [InlineData("é", "=C3=A9")]
    [InlineData("nul\0", "nul=00")]
    public void Quoted_printable_encodes_what_it_must(string line, string encoded)
    {
        var text = new StringBuilder();
        MiniMailgunMessage.AppendQuotedPrintable(text, line);
        Assert.Equal(encoded, text.ToString());
    }

    [Fact]
    public void Quoted_printable_lines_are_at_most_76_characters_with_soft_breaks()
    {
        var line = string.Concat(Enumerable.Repeat("ab=cdé ", 200));
        var text = new StringBuilder();
        MiniMailgunMessage.AppendQuotedPrintable(text, line);
        var lines = text.ToString().Split("\r\n");
        Assert.All(lines, l => Assert.True(l.Length <= 76, l));
        Assert.All(lines[..^1], l => Assert.EndsWith("=", l));
        // decode: drop soft breaks, then =XX
        var joined = string.Concat(lines.Select((l, i) => i < lines.Length - 1 ? l[..^1] : l));
        var bytes = new List<byte>();
        for (var i = 0; i < joined.Length; i++)
            if (joined[i] == '=')
            {
                bytes.Add(Convert.FromHexString(joined.AsSpan(i + 1, 2))[0]);
                i += 2;
            }
            else
                bytes.Add((byte)joined[i]);
        Assert.Equal(line, Encoding.UTF8.GetString([.. bytes]));
    }

    [Fact]
    public void A_long_recipient_list_is_folded_between_addresses()
    {
        var recipients = Enumerable.Range(0, 30).Select(i => $"someone-{i}@example{i}.test").ToList();
        var built = MiniMailgunMessage.Build("s@x.test", recipients, "s", "b", "id@h", DateTimeOffset.UnixEpoch);
        var text = Encoding.UTF8.GetString(built.Content);
        var to = Regex.Match(text, "\r\nTo: (.*?)\r\n(?! )", RegexOptions.Singleline).Groups[1].Value;
        Assert.All(("To: " + to).Split("\r\n"), l => Assert.True(l.Length <= 78, l));
        Assert.Equal(string.Join(", ", recipients), to.Replace("\r\n", "", StringComparison.Ordinal));
        Assert.Contains("\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n", text);
        Assert.Equal("7bit", built.TransferEncoding);
    }
}
