using System.Buffers;
using System.Text;
using Hermod.Smtp.Protocol;
using Hermod.Smtp.Tests.TestKit;

namespace Hermod.Smtp.Tests.Protocol;

public sealed class DataFilterTests
{
    private const BareLineEndingPolicy Reject = BareLineEndingPolicy.Reject;
    private const BareLineEndingPolicy Normalize = BareLineEndingPolicy.Normalize;

    /// <summary>How to build and drive the filter for one run.</summary>
    private sealed record Settings(
        bool DotStuffed = true,
        BareLineEndingPolicy Policy = Reject,
        int MaxLineLength = 1000,
        int MaxHeaderSize = 1 << 20,
        bool Finish = false);

    /// <summary>Everything observable after a run. <see cref="Output"/> is Latin-1: one char per byte.</summary>
    private sealed record Outcome(
        string Output,
        bool Completed,
        int Consumed,
        long Length,
        bool SawBareLineEnding,
        bool LineTooLong,
        bool HeaderTooLarge);

    private static readonly Settings Data = new();
    private static readonly Settings DataNormalize = new(Policy: Normalize);
    private static readonly Settings Bdat = new(DotStuffed: false, Finish: true);
    private static readonly Settings BdatNormalize = new(DotStuffed: false, Policy: Normalize, Finish: true);

    [Theory]
    [InlineData(".\r\n", "", true, "")]
    [InlineData(".\r\nQUIT\r\n", "", true, "QUIT\r\n")]
    [InlineData("\r\n.\r\n", "\r\n", true, "")]
    [InlineData("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n", true, "")]
    [InlineData("..x\r\n.\r\n", ".x\r\n", true, "")]
    [InlineData("a\r\n..x\r\n.\r\n", "a\r\n.x\r\n", true, "")]
    [InlineData("..\r\n.\r\n", ".\r\n", true, "")]
    [InlineData("a\r\n..\r\n.\r\n", "a\r\n.\r\n", true, "")]
    [InlineData("a\r\n...\r\n.\r\n", "a\r\n..\r\n", true, "")]
    [InlineData("a\r\n.b\r\n.\r\n", "a\r\nb\r\n", true, "")]
    [InlineData("a\r\n. \r\n.\r\n", "a\r\n \r\n", true, "")]
    [InlineData("a.\r\nb..\r\n.\r\n", "a.\r\nb..\r\n", true, "")]
    [InlineData("a\r\n.\r\nb\r\n.\r\n", "a\r\n", true, "b\r\n.\r\n")]
    [InlineData("a\r\n.\r\n.\r\n", "a\r\n", true, ".\r\n")]
    [InlineData("a\r\n", "a\r\n", false, "")]
    [InlineData("a\r\n.", "a\r\n", false, "")]
    [InlineData("a\r\n.\r", "a\r\n", false, "")]
    [InlineData("a\r", "a", false, "")]
    [InlineData("a\r\n\0.\r\n", "a\r\n\0.\r\n", false, "")]
    public void Data_unstuffs_and_stops_at_the_terminator_at_every_split(string input, string output, bool completed, string rest)
    {
        var outcome = AtEverySplit(input, Data);

        Assert.Equal(output, outcome.Output);
        Assert.Equal(completed, outcome.Completed);
        Assert.Equal(input.Length - rest.Length, outcome.Consumed);
        Assert.Equal(output.Length, outcome.Length);
        Assert.False(outcome.SawBareLineEnding);
    }

    [Fact]
    public void Data_leaves_the_bytes_after_the_terminator_to_the_caller()
    {
        var filter = new DataFilter(dotStuffed: true, Reject, 1000, 1 << 20);
        var output = new ArrayBufferWriter<byte>();
        var input = "body\r\n.\r\nMAIL FROM:<a@b.test>\r\n"u8;

        var used = filter.Process(input, output);

        Assert.True(filter.Completed);
        Assert.Equal("body\r\n.\r\n".Length, used);
        Assert.Equal("MAIL FROM:<a@b.test>\r\n", Encoding.ASCII.GetString(input[used..]));
        Assert.Equal(0, filter.Process(input[used..], output));
        Assert.Equal("body\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    public static TheoryData<string, string, bool> Smuggling => new()
    {
        { "Subject: s\r\n\r\nhello", "\n.\n", true },
        { "Subject: s\r\n\r\nhello", "\n.\r\n", true },
        { "Subject: s\r\n\r\nhello", "\r.\r", true },
        { "Subject: s\r\n\r\nhello", "\r.\n", true },
        { "Subject: s\r\n\r\nhello", "\r\n.\r", true },
        { "Subject: s\r\n\r\nhello", "\r\n.\r\r\n", true },
        { "Subject: s\r\n\r\nhello", "\r\n.\n", true },
        { "Subject: s\r\n\r\nhello", "\r\n\r.\r\n", true },
        { "Subject: s\r\n\r\nhello", "\r\n\n.\r\n", true },
        { "", ".\n", true },
        { "", "\n.\r\n", true },
        { "", ".\r", true },
        { "Subject: s\r\n\r\nhello", "\r\n\0.\r\n", false },
    };

    /// <summary>What a smuggler puts after the fake end of data: a second transaction.</summary>
    private const string SecondMessage = "MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: forged";

    [Theory]
    [MemberData(nameof(Smuggling))]
    public void Data_is_not_ended_by_a_bare_line_ending_and_rejects_it(string before, string sequence, bool bare)
    {
        var message = before + sequence + SecondMessage + "\r\n.\r\n";

        var outcome = AtEverySplit(message + "QUIT\r\n", Data);

        Assert.True(outcome.Completed);
        Assert.Equal(message.Length, outcome.Consumed);
        Assert.Equal(bare, outcome.SawBareLineEnding);
        Assert.Contains("MAIL FROM:<evil@attacker.test>", outcome.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Smuggling))]
    public void Data_is_not_ended_by_a_bare_line_ending_when_normalising(string before, string sequence, bool bare)
    {
        var message = before + sequence + SecondMessage + "\r\n.\r\n";

        var outcome = AtEverySplit(message + "QUIT\r\n", DataNormalize);

        Assert.True(outcome.Completed);
        Assert.Equal(message.Length, outcome.Consumed);
        Assert.Equal(bare, outcome.SawBareLineEnding);
        AssertOnlyCrLf(outcome.Output);
    }

    [Theory]
    [InlineData("a\nb\r\n.\r\n", "a\r\nb\r\n", true)]
    [InlineData("a\rb\r\n.\r\n", "a\r\nb\r\n", true)]
    [InlineData("a\r\r\n.\r\n", "a\r\n\r\n", true)]
    [InlineData("a\n.\r\n.\r\n", "a\r\n.\r\n", true)]
    [InlineData("a\r.\r\n.\r\n", "a\r\n.\r\n", true)]
    [InlineData("\n.\r\n.\r\n", "\r\n.\r\n", true)]
    [InlineData("a\n.\n", "a\r\n.\r\n", false)]
    [InlineData("a\r.\r", "a\r\n.", false)]
    [InlineData("a\n\n.\r\n", "a\r\n\r\n.\r\n", false)]
    [InlineData("a\n..\r\n.\r\n", "a\r\n..\r\n", true)]
    [InlineData("a\r\n.\n.\r\n", "a\r\n\r\n.\r\n", false)]
    [InlineData("a\r\n.\rb\r\n.\r\n", "a\r\n\r\nb\r\n", true)]
    [InlineData(".\nb\r\n.\r\n", "\r\nb\r\n", true)]
    public void Normalize_turns_bare_endings_into_crlf_and_keeps_the_dot_after_them(string input, string output, bool completed)
    {
        var outcome = AtEverySplit(input, DataNormalize);

        Assert.Equal(output, outcome.Output);
        Assert.Equal(completed, outcome.Completed);
        Assert.Equal(input.Length, outcome.Consumed);
        Assert.True(outcome.SawBareLineEnding);
    }

    [Theory]
    [InlineData("", 998, false)]
    [InlineData("", 999, true)]
    [InlineData(".", 998, false)]
    [InlineData("..", 997, false)]
    [InlineData("..", 998, true)]
    public void Data_allows_998_octets_of_text_per_line_after_unstuffing(string dots, int length, bool tooLong)
    {
        var line = dots + new string('x', length);

        var inBody = AtEverySplit("Subject: s\r\n\r\n" + line + "\r\nend\r\n.\r\n", Data, threePieces: false);
        var inHeader = AtEverySplit(line + "\r\n\r\nbody\r\n.\r\n", Data, threePieces: false);

        Assert.True(inBody.Completed);
        Assert.Equal(tooLong, inBody.LineTooLong);
        Assert.Equal(tooLong, inHeader.LineTooLong);
    }

    [Theory]
    [InlineData(8, false)]
    [InlineData(9, true)]
    public void Data_line_limit_counts_the_crlf(int length, bool tooLong)
    {
        var outcome = AtEverySplit("ok\r\n" + new string('x', length) + "\r\nok\r\n.\r\n", Data with { MaxLineLength = 10 });

        Assert.Equal(tooLong, outcome.LineTooLong);
    }

    [Fact]
    public void Data_line_limit_restarts_at_each_line_ending()
    {
        var line = new string('x', 998);

        var crlf = AtEverySplit(line + "\r\n" + line + "\r\n.\r\n", Data, threePieces: false);
        var bare = AtEverySplit(line + "\n" + line + "\r" + line + "\r\n.\r\n", DataNormalize, threePieces: false);

        Assert.False(crlf.LineTooLong);
        Assert.False(bare.LineTooLong);
        Assert.True(bare.SawBareLineEnding);
    }

    [Theory]
    [InlineData(new[] { 64 }, false)]
    [InlineData(new[] { 65 }, true)]
    [InlineData(new[] { 32, 32 }, false)]
    [InlineData(new[] { 32, 33 }, true)]
    [InlineData(new int[0], false)]
    public void Data_header_limit_counts_the_bytes_before_the_first_empty_line(int[] lines, bool tooLarge)
    {
        var header = string.Concat(lines.Select(HeaderLine));
        var body = string.Concat(Enumerable.Repeat("body line\r\n", 50));

        var outcome = AtEverySplit(header + "\r\n" + body + ".\r\n", Data with { MaxHeaderSize = 64 }, threePieces: false);

        Assert.True(outcome.Completed);
        Assert.Equal(tooLarge, outcome.HeaderTooLarge);
    }

    [Theory]
    [InlineData(64, false)]
    [InlineData(65, true)]
    public void Data_without_an_empty_line_is_all_header(int length, bool tooLarge)
    {
        var outcome = AtEverySplit(HeaderLine(length) + ".\r\n", Data with { MaxHeaderSize = 64 });

        Assert.Equal(tooLarge, outcome.HeaderTooLarge);
    }

    [Fact]
    public void Data_header_ends_at_an_empty_line_made_from_a_bare_line_ending_when_normalising()
    {
        var body = string.Concat(Enumerable.Repeat("body line\r\n", 50));

        var outcome = AtEverySplit(HeaderLine(60) + "\n" + body + ".\r\n", DataNormalize with { MaxHeaderSize = 64 }, threePieces: false);

        Assert.False(outcome.HeaderTooLarge);
        Assert.StartsWith(HeaderLine(60) + "\r\nbody line\r\n", outcome.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Length_counts_output_bytes_with_or_without_a_writer()
    {
        var input = "Subject: s\r\n\r\n..x\r\n...\r\ny\r\n.\r\n"u8.ToArray();
        var counting = new DataFilter(dotStuffed: true, Reject, 1000, 1 << 20);
        var writing = new DataFilter(dotStuffed: true, Reject, 1000, 1 << 20);
        var output = new ArrayBufferWriter<byte>();

        var counted = counting.Process(input, null);
        var written = writing.Process(input, output);

        Assert.Equal("Subject: s\r\n\r\n.x\r\n..\r\ny\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(output.WrittenCount, writing.Length);
        Assert.Equal(writing.Length, counting.Length);
        Assert.Equal(written, counted);
        Assert.True(counting.Completed);
    }

    [Theory]
    [InlineData("Subject: x\r\n\r\n..x\r\n.\r\n.\r\nafter\r\n")]
    [InlineData(".\r\n")]
    [InlineData("..\r\n")]
    [InlineData("\r\n.\r\n")]
    [InlineData(".")]
    [InlineData("no line ending")]
    [InlineData("\0\u007F\u0080\u00FF\r\n\u00C3\u00A9\r\n")]
    public void Bdat_passes_content_through_byte_exact(string input)
    {
        var outcome = AtEverySplit(input, Bdat);

        Assert.Equal(new Outcome(input, false, input.Length, input.Length, false, false, false), outcome);
    }

    [Theory]
    [InlineData("a\nb", "a\r\nb")]
    [InlineData("a\rb", "a\r\nb")]
    [InlineData("a\r\r\n", "a\r\n\r\n")]
    [InlineData("\n.\n", "\r\n.\r\n")]
    [InlineData("x\r\n.\r", "x\r\n.\r\n")]
    [InlineData("\r", "\r\n")]
    public void Bdat_flags_bare_line_endings(string input, string normalizedOutput)
    {
        var rejecting = AtEverySplit(input, Bdat);
        var normalizing = AtEverySplit(input, BdatNormalize);

        Assert.True(rejecting.SawBareLineEnding);
        Assert.False(rejecting.Completed);
        Assert.True(normalizing.SawBareLineEnding);
        Assert.False(normalizing.Completed);
        Assert.Equal(normalizedOutput, normalizing.Output);
    }

    [Fact]
    public void Finish_flags_a_trailing_lone_cr()
    {
        var filter = new DataFilter(dotStuffed: false, Reject, 1000, 1 << 20);
        var output = new ArrayBufferWriter<byte>();

        filter.Process("body\r"u8, output);
        var beforeFinish = filter.SawBareLineEnding;
        filter.Finish(output);

        Assert.False(beforeFinish);
        Assert.True(filter.SawBareLineEnding);
    }

    [Fact]
    public void Finish_accepts_a_crlf_split_across_chunks()
    {
        var filter = new DataFilter(dotStuffed: false, Reject, 1000, 1 << 20);
        var output = new ArrayBufferWriter<byte>();

        filter.Process("body\r"u8, output);
        filter.Process("\n"u8, output);
        filter.Finish(output);

        Assert.False(filter.SawBareLineEnding);
        Assert.Equal("body\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData(998, false)]
    [InlineData(999, true)]
    public void Finish_checks_the_length_of_an_unterminated_last_line(int length, bool tooLong)
    {
        var filter = new DataFilter(dotStuffed: false, Reject, 1000, 1 << 20);

        filter.Process(Encoding.ASCII.GetBytes("ok\r\n" + new string('x', length)), null);
        var beforeFinish = filter.LineTooLong;
        filter.Finish(null);

        Assert.False(beforeFinish);
        Assert.Equal(tooLong, filter.LineTooLong);
    }

    private static string HeaderLine(int length) => "X-H: " + new string('h', length - 7) + "\r\n";

    private static void AssertOnlyCrLf(string output)
    {
        for (var i = 0; i < output.Length; i++)
        {
            if (output[i] == '\r')
                Assert.True(i + 1 < output.Length && output[i + 1] == '\n', $"bare CR at {i}");
            if (output[i] == '\n')
                Assert.True(i > 0 && output[i - 1] == '\r', $"bare LF at {i}");
        }
    }

    /// <summary>
    /// Runs <paramref name="input"/> in one piece, then cut in two at every point (and in three at every pair
    /// of points when <paramref name="threePieces"/>), then byte by byte; every run must match the first.
    /// </summary>
    private static Outcome AtEverySplit(string input, Settings settings, bool threePieces = true)
    {
        var bytes = Encoding.Latin1.GetBytes(input);
        var whole = Run(bytes, [], settings);
        var cuts = threePieces ? Segments.AllCuts(bytes.Length) : Enumerable.Range(0, bytes.Length + 1).Select(i => new[] { i });
        foreach (var cut in cuts)
            Assert.Equal(whole, Run(bytes, cut, settings));
        Assert.Equal(whole, Run(bytes, [.. Enumerable.Range(1, Math.Max(0, bytes.Length - 1))], settings));
        return whole;
    }

    private static Outcome Run(byte[] input, int[] cuts, Settings settings)
    {
        var filter = new DataFilter(settings.DotStuffed, settings.Policy, settings.MaxLineLength, settings.MaxHeaderSize);
        var output = new ArrayBufferWriter<byte>();
        var consumed = 0;
        var start = 0;
        foreach (var end in cuts.Append(input.Length))
        {
            var piece = input.AsSpan(start, end - start);
            var used = filter.Process(piece, output);
            consumed += used;
            if (filter.Completed)
                break;
            Assert.Equal(piece.Length, used); // until the end of data, everything is consumed
            start = end;
        }
        if (filter.Completed)
            Assert.Equal(0, filter.Process(input.AsSpan(consumed), output)); // nothing more once done
        if (settings.Finish)
            filter.Finish(output);
        Assert.Equal(output.WrittenCount, filter.Length);
        return new Outcome(Encoding.Latin1.GetString(output.WrittenSpan), filter.Completed, consumed, filter.Length,
            filter.SawBareLineEnding, filter.LineTooLong, filter.HeaderTooLarge);
    }
}
