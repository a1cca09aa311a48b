using System.Text;
using System.Text.RegularExpressions;
using Hermod.Mime.Tests.TestKit;
using Hermod.Mime.Writing;
using Microsoft.Extensions.Time.Testing;

namespace Hermod.Mime.Tests;

public partial class MimeBuilderTests
{
    private static readonly byte[] Png = Specs.Png();

    private static MessageSpec Spec(string? text = "Hello\n", string? html = null)
    {
        var spec = new MessageSpec { From = new MailAddress("from@example.com", "From"), Subject = "Subject", Text = text, Html = html };
        spec.To.Add(new MailAddress("to@example.com"));
        return spec;
    }

    private static async Task<string> WriteAsync(MessageSpec spec, TimeProvider? time = null)
    {
        using var stream = new MemoryStream();
        await MimeBuilder.WriteAsync(spec, stream, "mail.example.com", time ?? new FakeTimeProvider(Specs.Now), CancellationToken.None);
        var raw = Encoding.UTF8.GetString(stream.ToArray());
        AssertWellFormed(raw);
        return raw;
    }

    /// <summary>CRLF line ends only; no line over 998 octets; headers end at the first empty line.</summary>
    private static void AssertWellFormed(string raw)
    {
        Assert.EndsWith("\r\n", raw);
        Assert.DoesNotMatch(BareLineEnd(), raw);
        foreach (var line in raw.Split("\r\n"))
            Assert.True(Encoding.UTF8.GetByteCount(line) <= 998, $"line over 998: {line[..Math.Min(50, line.Length)]}...");
    }

    [GeneratedRegex(@"\r(?!\n)|(?<!\r)\n")]
    private static partial Regex BareLineEnd();

    /// <summary>The media types of the parts, in the order they are written (pre-order).</summary>
    private static List<string> Structure(string raw) =>
        ContentType().Matches(raw).Select(m => m.Groups[1].Value).ToList();

    [GeneratedRegex(@"^Content-Type: ([^;\r\n]+)", RegexOptions.Multiline)]
    private static partial Regex ContentType();

    private static string Header(string raw, string name)
    {
        var head = raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        var match = Regex.Match(head, $"^{name}:(.*(?:\r\n[ \t].*)*)", RegexOptions.Multiline);
        Assert.True(match.Success, $"no {name} in\n{head}");
        return match.Groups[1].Value.Replace("\r\n", "").Trim();
    }

    [Fact]
    public async Task Text_only_is_text_plain()
    {
        var raw = await WriteAsync(Spec());

        Assert.Equal(["text/plain"], Structure(raw));
        Assert.Equal("text/plain; charset=utf-8", Header(raw, "Content-Type"));
        Assert.Equal("7bit", Header(raw, "Content-Transfer-Encoding"));
        Assert.EndsWith("\r\n\r\nHello\r\n", raw);
    }

    [Fact]
    public async Task Html_only_is_text_html()
    {
        var raw = await WriteAsync(Spec(text: null, html: "<p>x</p>"));

        Assert.Equal(["text/html"], Structure(raw));
    }

    [Fact]
    public async Task No_body_at_all_is_an_empty_text_part()
    {
        var raw = await WriteAsync(Spec(text: null));

        Assert.Equal(["text/plain"], Structure(raw));
        Assert.EndsWith("Content-Transfer-Encoding: 7bit\r\n\r\n", raw);
    }

    [Fact]
    public async Task Text_and_html_are_alternatives_text_first()
    {
        var raw = await WriteAsync(Spec(html: "<p>x</p>"));

        Assert.Equal(["multipart/alternative", "text/plain", "text/html"], Structure(raw));
    }

    [Fact]
    public async Task Inline_parts_are_related_to_the_html()
    {
        var spec = Spec(html: "<img src=\"cid:logo@x\">");
        spec.Attachments.Add(new MimeAttachment("logo.png", "image/png", Png, "logo@x"));

        var raw = await WriteAsync(spec);

        Assert.Equal(["multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"], Structure(raw));
        Assert.Contains("multipart/related; type=\"text/html\";", raw);
        Assert.Contains("Content-Disposition: inline; filename=logo.png\r\nContent-ID: <logo@x>\r\n", raw);
    }

    [Fact]
    public async Task Attachments_put_everything_in_mixed()
    {
        var spec = Spec(html: "<img src=\"cid:logo@x\">");
        spec.Attachments.Add(new MimeAttachment("a.pdf", "application/pdf", new byte[10]));
        spec.Attachments.Add(new MimeAttachment("logo.png", "image/png", Png, "logo@x"));

        var raw = await WriteAsync(spec);

        Assert.Equal(["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png", "application/pdf"], Structure(raw));
        Assert.Contains("Content-Disposition: attachment; filename=a.pdf\r\n", raw);
    }

    [Fact]
    public async Task Inline_parts_without_html_travel_in_mixed_still_inline()
    {
        var spec = Spec();
        spec.Attachments.Add(new MimeAttachment("logo.png", "image/png", Png, "logo@x"));

        var raw = await WriteAsync(spec);

        Assert.Equal(["multipart/mixed", "text/plain", "image/png"], Structure(raw));
        Assert.Contains("Content-Disposition: inline; filename=logo.png\r\nContent-ID: <logo@x>\r\n", raw);
    }

    [Fact]
    public async Task Attachments_alone()
    {
        var spec = Spec(text: null);
        spec.Attachments.Add(new MimeAttachment("a.bin", "application/octet-stream", new byte[3]));

        var raw = await WriteAsync(spec);

        Assert.Equal(["multipart/mixed", "application/octet-stream"], Structure(raw));
    }

    [Fact]
    public async Task Top_headers()
    {
        var spec = Spec();
        spec.Cc.Add(new MailAddress("cc@example.com"));
        spec.ReplyTo.Add(new MailAddress("reply@example.com"));
        spec.Bcc.Add(new MailAddress("secret@example.com", "Secret"));
        spec.Headers["X-Tag"] = "one";

        var raw = await WriteAsync(spec);

        var head = raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        var names = head.Split("\r\n").Where(l => l[0] is not (' ' or '\t')).Select(l => l[..l.IndexOf(':')]).ToList();
        Assert.Equal(["Date", "From", "Reply-To", "To", "Cc", "Subject", "Message-ID", "X-Tag", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"], names);
        Assert.DoesNotContain("secret", raw, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("1.0", Header(raw, "MIME-Version"));
        Assert.Equal("From <from@example.com>", Header(raw, "From"));
    }

    [Fact]
    public async Task Date_comes_from_the_time_provider_in_its_local_zone()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("test", TimeSpan.FromHours(-3.5), "test", "test");
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 1, 2, 3, TimeSpan.Zero));
        time.SetLocalTimeZone(zone);
        var raw = await WriteAsync(Spec(), time);

        Assert.Equal("Tue, 1 Jan 2030 21:32:03 -0330", Header(raw, "Date"));
    }

    [Fact]
    public async Task A_given_date_is_kept()
    {
        var spec = Spec();
        spec.Date = new DateTimeOffset(2003, 7, 1, 10, 52, 37, TimeSpan.FromHours(2));

        Assert.Equal("Tue, 1 Jul 2003 10:52:37 +0200", Header(await WriteAsync(spec), "Date"));
    }

    [Fact]
    public async Task Message_ids_are_random_at_the_domain()
    {
        var a = Header(await WriteAsync(Spec()), "Message-ID");
        var b = Header(await WriteAsync(Spec()), "Message-ID");

        Assert.Matches("^<[0-9a-f]{32}@mail\\.example\\.com>$", a);
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData("abc@example.org")]
    [InlineData("<abc@example.org>")]
    public async Task A_given_message_id_is_kept(string id)
    {
        var spec = Spec();
        spec.MessageId = id;

        Assert.Equal("<abc@example.org>", Header(await WriteAsync(spec), "Message-ID"));
    }

    [Theory]
    [InlineData("plain ascii\n", "7bit")]
    [InlineData("tab\tis fine\n", "7bit")]
    [InlineData("ümlaut\n", "quoted-printable")]
    [InlineData("nul\0\n", "quoted-printable")]
    [InlineData("del\u007f\n", "quoted-printable")]
    public async Task Text_encoding(string text, string encoding)
    {
        Assert.Equal(encoding, Header(await WriteAsync(Spec(text)), "Content-Transfer-Encoding"));
    }

    [Fact]
    public async Task Lines_up_to_998_stay_7bit_longer_ones_go_quoted_printable()
    {
        Assert.Equal("7bit", Header(await WriteAsync(Spec(new string('a', 998) + "\n")), "Content-Transfer-Encoding"));
        var raw = await WriteAsync(Spec(new string('a', 999) + "\n"));
        Assert.Equal("quoted-printable", Header(raw, "Content-Transfer-Encoding"));
        var body = raw[(raw.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.All(body.Split("\r\n"), l => Assert.True(l.Length <= 76));
    }

    [Fact]
    public async Task Line_ends_are_normalised_in_7bit_text()
    {
        var raw = await WriteAsync(Spec("a\rb\nc\r\nd"));

        Assert.EndsWith("\r\n\r\na\r\nb\r\nc\r\nd\r\n", raw);
    }

    [Fact]
    public async Task Attachments_are_base64_in_76_column_lines()
    {
        var spec = Spec();
        var content = Specs.Bytes(50_000, 1); // crosses the encoder's 7296-byte steps
        spec.Attachments.Add(new MimeAttachment("r.bin", "application/octet-stream", content));

        var raw = await WriteAsync(spec);

        var start = raw.IndexOf("Content-Transfer-Encoding: base64\r\n", StringComparison.Ordinal);
        var bodyStart = raw.IndexOf("\r\n\r\n", start, StringComparison.Ordinal) + 4;
        var lines = raw[bodyStart..raw.IndexOf("\r\n--", bodyStart, StringComparison.Ordinal)].Split("\r\n");
        Assert.All(lines[..^1], l => Assert.Equal(76, l.Length));
        Assert.Equal(content, Convert.FromBase64String(string.Concat(lines)));
    }

    [Fact]
    public async Task Boundaries_are_random_quoted_and_distinct()
    {
        var spec = Spec(html: "<p>x</p>");
        spec.Attachments.Add(new MimeAttachment("a", "application/octet-stream", new byte[1]));

        var raw = await WriteAsync(spec);

        var boundaries = Regex.Matches(raw, "boundary=\"(=_[0-9A-Za-z]{28})\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, boundaries.Count);
        Assert.NotEqual(boundaries[0], boundaries[1]);
        Assert.All(boundaries, b => Assert.Contains($"\r\n--{b}--\r\n", raw));
        Assert.All(boundaries, b => Assert.StartsWith($"--{b}\r\n", raw[(raw.IndexOf("\r\n\r\n", raw.IndexOf(b, StringComparison.Ordinal), StringComparison.Ordinal) + 4)..]));
        Assert.EndsWith($"\r\n--{boundaries[0]}--\r\n", raw);
    }

    [Fact]
    public void A_boundary_that_occurs_in_7bit_text_is_drawn_again()
    {
        var candidates = new Queue<string>(["=_AAAA", "=_AAAA", "=_BBBB", "=_CCCC"]);
        var first = new MultipartPart("mixed", []);
        var second = new MultipartPart("mixed", []);
        var taken = new HashSet<string>();

        first.ChooseBoundary(["text with --=_AAAA inside"], taken, candidates.Dequeue);
        second.ChooseBoundary(["text with --=_AAAA inside"], taken, candidates.Dequeue);

        Assert.Equal("=_BBBB", first.Boundary);
        Assert.Equal("=_CCCC", second.Boundary); // =_AAAA again, =_BBBB taken
    }

    [Fact]
    public async Task Requires_smtputf8_only_for_utf8_addresses()
    {
        var spec = Spec("ümlaut body");
        spec.Subject = "Grüße";
        spec.To[0] = new MailAddress("to@example.com", "Jürgen");
        Assert.False(MimeBuilder.RequiresSmtpUtf8(spec));

        spec.Bcc.Add(new MailAddress("jürgen@example.com"));
        Assert.True(MimeBuilder.RequiresSmtpUtf8(spec));

        spec.Bcc.Clear();
        spec.To.Add(new MailAddress("用户@例子.广告"));
        Assert.True(MimeBuilder.RequiresSmtpUtf8(spec));
        Assert.Contains("To: =?utf-8?Q?J=C3=BCrgen?= <to@example.com>, 用户@例子.广告\r\n", await WriteAsync(spec));
    }

    [Fact]
    public async Task Invalid_specs_and_domains_are_refused()
    {
        var spec = Spec();
        spec.Headers["Bcc"] = "x@example.com";
        var time = new FakeTimeProvider(Specs.Now);

        var invalid = await Assert.ThrowsAsync<ArgumentException>(() => MimeBuilder.WriteAsync(spec, Stream.Null, "example.com", time, CancellationToken.None));
        Assert.Contains("headers.Bcc: may not be set", invalid.Message);
        var domain = await Assert.ThrowsAsync<ArgumentException>(() => MimeBuilder.WriteAsync(Spec(), Stream.Null, "bad domain>", time, CancellationToken.None));
        Assert.Equal("messageIdDomain", domain.ParamName);
    }

    [Fact]
    public async Task Writes_as_it_goes_in_bounded_chunks()
    {
        var spec = Spec(string.Concat(Enumerable.Repeat("Grüße, a line of text.\n", 20_000)));
        spec.Attachments.Add(new MimeAttachment("big.bin", "application/octet-stream", Specs.Bytes(2_000_000, 3)));
        var stream = new RecordingStream();

        await MimeBuilder.WriteAsync(spec, stream, "example.com", new FakeTimeProvider(Specs.Now), CancellationToken.None);

        Assert.True(stream.Writes.Count > 100, $"{stream.Writes.Count} writes");
        Assert.All(stream.Writes, size => Assert.True(size <= 2 * MimeOutput.FlushThreshold, $"a write of {size} bytes"));
        Assert.True(stream.Length > 2_700_000);
    }

    [Fact]
    public async Task Cancellation_stops_the_write()
    {
        var spec = Spec();
        spec.Attachments.Add(new MimeAttachment("big.bin", "application/octet-stream", new byte[1_000_000]));
        using var cancel = new CancellationTokenSource();
        var stream = new RecordingStream { OnWrite = cancel.Cancel };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MimeBuilder.WriteAsync(spec, stream, "example.com", TimeProvider.System, cancel.Token));
        Assert.True(stream.Length < 500_000);
    }

    /// <summary>A write-only, non-seekable stream that records the size of each write.</summary>
    private sealed class RecordingStream : Stream
    {
        public List<int> Writes { get; } = [];

        public Action? OnWrite { get; init; }

        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Record(count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Record(buffer.Length);
            return ValueTask.CompletedTask;
        }

        private void Record(int count)
        {
            Writes.Add(count);
            _length += count;
            OnWrite?.Invoke();
        }
    }
}
