using System.Text;
using Hermod.Mime.Tests.TestKit;
using Hermod.Mime.Writing;

namespace Hermod.Mime.Tests;

public class HeaderFoldingTests
{
    private static void AssertLines(string field, int limit = 78)
    {
        foreach (var line in Decode.Lines(field))
        {
            Assert.True(Encoding.UTF8.GetByteCount(line) <= limit, $"line over {limit}: {line}");
            Assert.False(string.IsNullOrWhiteSpace(line), "a folded line holds only white space");
        }
    }

    [Fact]
    public void Short_ascii_stays_on_one_line()
    {
        Assert.Equal("Subject: Hello world\r\n", new HeaderBuilder("Subject").Unstructured("Hello world").ToString());
    }

    [Fact]
    public void Long_ascii_folds_at_spaces_and_unfolds_to_the_same_text()
    {
        var text = string.Join(' ', Enumerable.Range(0, 100).Select(i => "word" + i));

        var field = new HeaderBuilder("Subject").Unstructured(text).ToString();

        AssertLines(field);
        Assert.True(Decode.Lines(field).Length > 5);
        Assert.Equal(" " + text, Decode.Unfold(field));
    }

    [Fact]
    public void Runs_of_spaces_survive_folding()
    {
        var text = string.Join("   ", Enumerable.Range(0, 40).Select(i => "w" + i));

        var field = new HeaderBuilder("X-Spaces").Verbatim(text).ToString();

        AssertLines(field);
        Assert.Equal(" " + text, Decode.Unfold(field));
    }

    [Fact]
    public void A_word_longer_than_a_line_gets_a_line_of_its_own_under_998()
    {
        var url = "https://example.com/" + new string('a', 300);

        var field = new HeaderBuilder("List-Unsubscribe").Verbatim("<" + url + ">, <mailto:u@example.com>").ToString();

        var lines = Decode.Lines(field);
        Assert.Equal(2, lines.Length);
        Assert.True(lines[0].Length is > 78 and <= 998);
        Assert.Equal(" <mailto:u@example.com>", lines[1]);
    }

    [Fact]
    public void Subject_with_a_word_too_long_to_fold_is_encoded_instead()
    {
        var text = "x " + new string('y', 1200);

        var field = new HeaderBuilder("Subject").Unstructured(text).ToString();

        AssertLines(field);
        Assert.Equal(text, Decode.Unstructured(Decode.Unfold(field)));
    }

    [Theory]
    [InlineData("Grüße")]
    [InlineData("=?utf-8?Q?x?=")]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData("tab\there")]
    public void Unstructured_text_that_cannot_go_plain_is_encoded(string text)
    {
        var field = new HeaderBuilder("Subject").Unstructured(text).ToString();

        Assert.StartsWith("Subject: =?utf-8?", field);
        Assert.Equal(text, Decode.Unstructured(Decode.Unfold(field)));
    }

    [Fact]
    public void Address_lists_fold_after_commas()
    {
        var list = Enumerable.Range(0, 30).Select(i => new MailAddress($"user{i}@example.com", i % 2 == 0 ? $"User {i}" : null)).ToList();

        var field = new HeaderBuilder("To").Mailboxes(list).ToString();

        AssertLines(field);
        var value = Decode.Unfold(field);
        Assert.Equal(" " + string.Join(", ", list.Select(a => a.DisplayName is null ? a.Address : $"{a.DisplayName} <{a.Address}>")), value);
    }

    [Theory]
    [InlineData("John Doe", "To: John Doe <a@example.com>\r\n")]
    [InlineData("Doe, John", "To: \"Doe, John\" <a@example.com>\r\n")]
    [InlineData("John Q. Public", "To: \"John Q. Public\" <a@example.com>\r\n")]
    [InlineData("The \"Boss\"", "To: \"The \\\"Boss\\\"\" <a@example.com>\r\n")]
    [InlineData("Empfänger Nummer 2", "To: =?utf-8?Q?Empf=C3=A4nger?= Nummer 2 <a@example.com>\r\n")]
    [InlineData("Jürgen Müller", "To: =?utf-8?B?SsO8cmdlbiBNw7xsbGVy?= <a@example.com>\r\n")] // B is shorter here
    [InlineData("Jürgen Q. Müller-Lüdenscheidt", "To: =?utf-8?B?SsO8cmdlbiBRLiBNw7xsbGVyLUzDvGRlbnNjaGVpZHQ=?= <a@example.com>\r\n")]
    [InlineData("=?utf-8?Q?x?=", "To: =?utf-8?B?PT91dGYtOD9RP3g/PQ==?= <a@example.com>\r\n")]
    [InlineData("日本 Team", "To: =?utf-8?B?5pel5pys?= Team <a@example.com>\r\n")]
    [InlineData("", "To: a@example.com\r\n")]
    [InlineData("  ", "To: a@example.com\r\n")]
    [InlineData(" Edge  spaces ", "To: Edge spaces <a@example.com>\r\n")] // white space in a phrase only separates
    [InlineData("Ünï  cödé ", "To: =?utf-8?B?w5xuw68gY8O2ZMOp?= <a@example.com>\r\n")]
    public void Display_names(string name, string expected)
    {
        Assert.Equal(expected, new HeaderBuilder("To").Mailbox(new MailAddress("a@example.com", name), last: true).ToString());
    }

    [Theory]
    [InlineData("Ελένη Παπαδοπούλου")]
    [InlineData("山田 太郎")]
    [InlineData("Müller, Jürgen <jm>")]
    [InlineData("A display name that is rather long, with a comma and ümlauts")]
    [InlineData("😀 Emoji 👩‍👩‍👧‍👦 Person")]
    [InlineData("Ölfabrik GmbH & Co. KG – Geschäftsführung")]
    public void Display_names_avoid_adjacent_encoded_words_when_one_word_can_hold_the_run(string name)
    {
        var list = new[] { new MailAddress("first.person.with.a.long.address@example.com", "First Person"), new MailAddress("a@example.com", name) };

        var field = new HeaderBuilder("To").Mailboxes(list).ToString();

        AssertLines(field);
        var value = Decode.Unfold(field);
        var phrase = value[(value.IndexOf(", ", StringComparison.Ordinal) + 2)..value.LastIndexOf(" <", StringComparison.Ordinal)];
        var tokens = phrase.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 1; i < tokens.Length; i++)
            Assert.False(tokens[i - 1].StartsWith("=?", StringComparison.Ordinal) && tokens[i].StartsWith("=?", StringComparison.Ordinal), $"adjacent encoded words in {phrase}");
        Assert.Equal(name, Decode.Unstructured(phrase));
    }

    [Fact]
    public void A_run_too_long_for_one_word_is_split_into_adjacent_words_the_rfc_2047_way()
    {
        var name = string.Concat(Enumerable.Repeat("東京都の天気予報", 4));

        var field = new HeaderBuilder("To").Mailbox(new MailAddress("a@example.com", name), last: true).ToString();

        AssertLines(field);
        var value = Decode.Unfold(field);
        var phrase = value[..value.LastIndexOf(" <", StringComparison.Ordinal)];
        Assert.True(phrase.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length > 1);
        Assert.Equal(name, Decode.Unstructured(phrase));
    }

    [Fact]
    public void A_long_header_name_still_gets_lines_of_78()
    {
        var name = "X-" + new string('n', 74);

        var field = new HeaderBuilder(name).Verbatim("Grüße aus Köln und überall").ToString();

        Assert.StartsWith(name + ":\r\n =?utf-8?", field);
        AssertLines(field);
        Assert.Equal("Grüße aus Köln und überall", Decode.Unstructured(Decode.Unfold(field)));
    }

    [Fact]
    public void Utf8_addresses_count_octets_not_characters()
    {
        var list = Enumerable.Range(0, 10).Select(i => new MailAddress($"用户{i}@例子.广告")).ToList();

        var field = new HeaderBuilder("To").Mailboxes(list).ToString();

        AssertLines(field);
        Assert.Contains("用户0@例子.广告,", field);
    }
}
