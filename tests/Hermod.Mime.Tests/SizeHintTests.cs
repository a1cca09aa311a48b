using Hermod.Mime.Tests.TestKit;
using Microsoft.Extensions.Time.Testing;

namespace Hermod.Mime.Tests;

/// <summary><see cref="MimeBuilder.SizeHint"/>: a buffer of that size holds the written message without growing.</summary>
public class SizeHintTests
{
    private static async Task<long> WrittenLengthAsync(MessageSpec spec, string messageIdDomain = "mail.example.com")
    {
        using var stream = new MemoryStream();
        await MimeBuilder.WriteAsync(spec, stream, messageIdDomain, new FakeTimeProvider(Specs.Now), CancellationToken.None);
        return stream.Length;
    }

    [Theory]
    [MemberData(nameof(Specs.Names), MemberType = typeof(Specs))]
    public async Task The_hint_is_at_least_the_written_size(string name)
    {
        var spec = Specs.Get(name);

        Assert.InRange(await WrittenLengthAsync(spec), 0, MimeBuilder.SizeHint(spec));
    }

    public static TheoryData<string, string> Texts => new()
    {
        { "quoted-printable", string.Concat(Enumerable.Repeat("Grüße ü=ä ", 20_000)) }, // =XX for each non-ASCII octet and '='
        { "cjk", string.Concat(Enumerable.Repeat("日本語の本文です。\n", 10_000)) },
        { "emoji", string.Concat(Enumerable.Repeat("😀👩‍👩‍👧‍👦", 10_000)) },
        { "short-lines", string.Concat(Enumerable.Repeat("a\n", 100_000)) }, // each LF becomes CRLF
        { "long-ascii-lines", string.Concat(Enumerable.Repeat(new string('x', 5000) + "\n", 50)) }, // soft line breaks
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public async Task The_hint_covers_large_text_bodies(string kind, string text)
    {
        var spec = new MessageSpec { From = new MailAddress("from@example.com"), Subject = kind, Text = text, Html = "<p>" + text + "</p>" };
        spec.To.Add(new MailAddress("to@example.com"));

        Assert.InRange(await WrittenLengthAsync(spec), 0, MimeBuilder.SizeHint(spec));
    }

    [Fact]
    public async Task The_hint_covers_many_recipients_with_encoded_names()
    {
        var spec = new MessageSpec { From = new MailAddress("from@example.com", "Jürgen Müller"), Subject = "東京都の天気予報", Text = "x\n" };
        for (var i = 0; i < 1000; i++)
            spec.To.Add(new MailAddress($"recipient{i}@example.com", $"受信者 番号 {i} 😀"));

        Assert.InRange(await WrittenLengthAsync(spec), 0, MimeBuilder.SizeHint(spec));
    }

    [Fact]
    public async Task The_hint_covers_every_multipart_and_a_message_id_domain_of_any_length()
    {
        var spec = new MessageSpec { From = new MailAddress("f@example.com"), Subject = "", Text = "t", Html = "<img src=\"cid:i@x\">" };
        spec.To.Add(new MailAddress("t@example.com"));
        spec.Attachments.Add(new MimeAttachment("i.png", "image/png", Specs.Png(), "i@x"));
        spec.Attachments.Add(new MimeAttachment("a.txt", "text/plain; charset=utf-8", new byte[1]));
        var domain = string.Join('.', new string('d', 63), new string('d', 63), new string('d', 63), new string('d', 61)); // 253 characters

        Assert.InRange(await WrittenLengthAsync(spec, domain), 0, MimeBuilder.SizeHint(spec));
    }

    [Fact]
    public async Task For_a_large_attachment_the_hint_is_close()
    {
        var spec = new MessageSpec { From = new MailAddress("from@example.com"), Subject = "File", Text = "Attached.\n" };
        spec.To.Add(new MailAddress("to@example.com"));
        spec.Attachments.Add(new MimeAttachment("data.bin", "application/octet-stream", Specs.Bytes(5_000_000, 1)));

        var written = await WrittenLengthAsync(spec);

        Assert.InRange(MimeBuilder.SizeHint(spec), written, written + 8 * 1024);
    }
}
