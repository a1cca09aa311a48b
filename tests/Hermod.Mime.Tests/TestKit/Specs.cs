using System.Text;

namespace Hermod.Mime.Tests.TestKit;

/// <summary>Message specs the round-trip tests send through the real parsers, by name.</summary>
public static class Specs
{
    public static readonly DateTimeOffset Now = new(2030, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private static readonly Dictionary<string, Func<MessageSpec>> All = new()
    {
        ["ascii-text"] = () => Spec("Hello", text: "Hello there.\nSecond line.\n"),
        ["ascii-html"] = () => Spec("Hello", html: "<p>Hello <b>there</b></p>\n"),
        ["text-and-html"] = () => Spec("Both", text: "Plain version\n", html: "<html><body><p>HTML version</p></body></html>"),
        ["text-without-final-line-end"] = () => Spec("No line end", text: "no line end at the end"),
        ["text-without-final-line-end-in-multipart"] = () => Spec("No line end", text: "Grüße, no line end", html: "<p>x</p>"),
        ["empty-text"] = () => Spec("", text: ""),
        ["scripts"] = () =>
        {
            var spec = Spec("Grüße · Ελληνικά · Русский · العربية · עברית · हिन्दी · ภาษาไทย · 日本語の件名 · 한국어 · 中文 · 🎉👩‍👩‍👧‍👦🇳🇴",
                text: "Grüße\nΕλληνικά\nРусский\nالعربية\nעברית\nहिन्दी\nภาษาไทย\n日本語\n한국어\n😀 👩‍💻 🇳🇴\n",
                html: "<p>日本語 😀</p>");
            spec.From = new MailAddress("sender@example.com", "Jürgen Müller");
            spec.To.Add(new MailAddress("a@example.com", "Ελένη Παπαδοπούλου"));
            spec.To.Add(new MailAddress("b@example.com", "Дмитрий Иванов"));
            spec.To.Add(new MailAddress("c@example.com", "山田 太郎"));
            spec.Cc.Add(new MailAddress("d@example.com", "محمد عبد الله"));
            spec.Cc.Add(new MailAddress("e@example.com", "😀 Emoji 👩‍👩‍👧‍👦 Person"));
            spec.ReplyTo.Add(new MailAddress("f@example.com", "김민준"));
            return spec;
        },
        ["long-ascii-subject"] = () => Spec(string.Join(' ', Enumerable.Range(0, 60).Select(i => $"word{i}")) + " " + new string('x', 120), text: "x\n"),
        ["long-cjk-subject"] = () => Spec(string.Concat(Enumerable.Repeat("東京都の天気予報、今日は晴れのち曇り。", 12)), text: "x\n"),
        ["long-emoji-subject"] = () => Spec(string.Concat(Enumerable.Repeat("😀👩‍👩‍👧‍👦🇳🇴é ", 30)), text: "x\n"),
        ["subject-lookalikes"] = () => Spec("=?utf-8?Q?not_encoded?= and _under_score_ ?= =? a=b", text: "x\n"),
        ["subject-edge-spaces"] = () => Spec("  two leading, double  inner, tab\tand trailing ", text: "x\n"),
        ["display-name-specials"] = () =>
        {
            var spec = Spec("Names", text: "x\n");
            spec.From = new MailAddress("from@example.com", "Doe, John (Work)");
            spec.To.Add(new MailAddress("a@example.com", "The \"Boss\" \\ Backslash"));
            spec.To.Add(new MailAddress("b@example.com", "O'Brien"));
            spec.To.Add(new MailAddress("c@example.com", "Müller, Jürgen <jm>"));
            spec.To.Add(new MailAddress("d@example.com", "=?utf-8?Q?looks_encoded?="));
            spec.To.Add(new MailAddress("e@example.com", "John Q. Public"));
            spec.To.Add(new MailAddress("f@example.com", "A very long display name that certainly does not fit on one line of a header field at all"));
            spec.Cc.Add(new MailAddress("\"quoted local\"@example.com", "Quoted Local"));
            spec.Cc.Add(new MailAddress("plain@example.com"));
            return spec;
        },
        ["many-recipients"] = () =>
        {
            var spec = Spec("Many", text: "x\n");
            for (var i = 0; i < 40; i++)
                spec.To.Add(new MailAddress($"recipient{i}@sub{i}.example.com", i % 3 == 0 ? null : i % 3 == 1 ? $"Recipient Number {i}" : $"Empfänger Nummer {i}"));
            return spec;
        },
        ["utf8-addresses"] = () =>
        {
            var spec = Spec("SMTPUTF8", text: "x\n");
            spec.From = new MailAddress("jürgen@müller.example", "Jürgen");
            spec.To.Add(new MailAddress("用户@例子.广告", "用户"));
            spec.To.Add(new MailAddress("δοκιμή@παράδειγμα.δοκιμή"));
            return spec;
        },
        ["inline-image"] = () =>
        {
            var spec = Spec("Inline", text: "See the logo.\n", html: "<p>Logo: <img src=\"cid:logo@example.com\"> <img src=\"cid:dot.png\"></p>");
            spec.Attachments.Add(new MimeAttachment("logo.png", "image/png", Png(), "logo@example.com"));
            spec.Attachments.Add(new MimeAttachment("dot.png", "image/png", Png(), "dot.png"));
            return spec;
        },
        ["inline-image-html-only"] = () =>
        {
            var spec = Spec("Inline", html: "<p><img src=\"cid:logo@example.com\"></p>");
            spec.Attachments.Add(new MimeAttachment("logo.png", "image/png", Png(), "logo@example.com"));
            return spec;
        },
        ["inline-and-attachments"] = () =>
        {
            var spec = Spec("Everything", text: "Text\n", html: "<p><img src=\"cid:logo@example.com\"></p>");
            spec.Attachments.Add(new MimeAttachment("report.pdf", "application/pdf", Bytes(3000, 1)));
            spec.Attachments.Add(new MimeAttachment("logo.png", "image/png", Png(), "logo@example.com"));
            spec.Attachments.Add(new MimeAttachment("data.csv", "text/csv; charset=utf-8", Encoding.UTF8.GetBytes("a,b\r\n1,ü\r\n")));
            return spec;
        },
        ["non-ascii-filenames"] = () =>
        {
            var spec = Spec("Files", text: "Attached.\n");
            spec.Attachments.Add(new MimeAttachment("Grüße.txt", "text/plain", Encoding.UTF8.GetBytes("Grüße\n")));
            spec.Attachments.Add(new MimeAttachment("報告書 2024年度.pdf", "application/pdf", Bytes(500, 2)));
            spec.Attachments.Add(new MimeAttachment("emoji 😀👩‍👩‍👧‍👦.png", "image/png", Png()));
            spec.Attachments.Add(new MimeAttachment(string.Concat(Enumerable.Repeat("Длинное имя файла ", 8)) + "конец.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Bytes(100, 3)));
            spec.Attachments.Add(new MimeAttachment("quote\" semi; back\\slash %41 'x'.txt", "text/plain", Encoding.ASCII.GetBytes("q")));
            spec.Attachments.Add(new MimeAttachment(new string('a', 120) + ".bin", "application/octet-stream", Bytes(10, 4)));
            return spec;
        },
        ["binary-attachments"] = () =>
        {
            var spec = Spec("Binary", text: "Binary.\n");
            spec.Attachments.Add(new MimeAttachment("all-bytes.bin", "application/octet-stream", Enumerable.Range(0, 256 * 4).Select(i => (byte)i).ToArray()));
            spec.Attachments.Add(new MimeAttachment("random.bin", "application/octet-stream", Bytes(100_000, 5)));
            spec.Attachments.Add(new MimeAttachment("empty.bin", "application/octet-stream", Array.Empty<byte>()));
            spec.Attachments.Add(new MimeAttachment("one.bin", "application/octet-stream", new byte[] { 0xFF }));
            spec.Attachments.Add(new MimeAttachment("fifty-seven.bin", "application/octet-stream", Bytes(57, 6)));
            return spec;
        },
        ["inline-without-html"] = () =>
        {
            var spec = Spec("Inline, no HTML", text: "Text only\n");
            spec.Attachments.Add(new MimeAttachment("logo.png", "image/png", Png(), "logo@example.com"));
            return spec;
        },
        ["names-that-fit-one-word"] = () =>
        {
            var spec = Spec("Names", text: "x\n");
            spec.From = new MailAddress("long.sender.address.that.pushes@example.com", "Ölfabrik GmbH & Co. KG – Geschäftsführung");
            spec.To.Add(new MailAddress("a.rather.long.address.as.well@example.com", "Ελένη Παπαδοπούλου"));
            spec.To.Add(new MailAddress("b@example.com", "東京都の天気予報です"));
            spec.To.Add(new MailAddress("c@example.com", "Team 日本 and Grüße, friends"));
            spec.To.Add(new MailAddress("d@example.com", "spaced  out"));
            spec.To.Add(new MailAddress("e@example.com", "Ünïcödé  spaced  out"));
            return spec;
        },
        ["long-header-name"] = () =>
        {
            var spec = Spec("Grüße " + new string('x', 10), text: "x\n");
            spec.Headers["X-" + new string('n', 74)] = "Grüße aus Köln und überall auf der Welt";
            return spec;
        },
        ["attachments-only"] = () =>
        {
            var spec = Spec("Only files");
            spec.Attachments.Add(new MimeAttachment("a.bin", "application/octet-stream", Bytes(70, 7)));
            spec.Attachments.Add(new MimeAttachment("b.bin", "application/octet-stream", Bytes(80, 8)));
            return spec;
        },
        ["long-lines"] = () => Spec("Long lines",
            text: new string('a', 5000) + "\n" + string.Join(' ', Enumerable.Range(0, 500).Select(i => "wörd" + i)) + "\nshort\n" + new string('b', 998) + "\n",
            html: "<p>" + string.Join(' ', Enumerable.Range(0, 400).Select(i => $"<span class=\"w{i}\">w{i}</span>")) + "</p>"),
        ["ascii-998-line"] = () => Spec("998", text: new string('c', 998) + "\n" + new string('d', 999) + "\n"),
        ["dots-and-from"] = () => Spec("Dots",
            text: ".\n..\n.hidden\nFrom me to you\n>From quoted\nFrom\nfrom lower\n. \n",
            html: "<p>\n.\n..\nFrom here\n</p>\nö\n.\nFrom there\n"),
        ["dots-and-from-ascii"] = () => Spec("Dots", text: ".\n..\n.hidden\nFrom me to you\n>From quoted\nFrom\n.\r\n"),
        ["line-ends"] = () => Spec("Line ends", text: "crlf\r\nlf\ncr\rmixed\r\r\n\n\rend ü\n"),
        ["whitespace"] = () => Spec("Whitespace", text: "trailing space \ntrailing tab\t\n \n\t\n  \t  \nmiddle  spaces and\ttabs\n trailing ünicode  \n"),
        ["qp-edges"] = () => Spec("QP", text: string.Join('\n', Enumerable.Range(70, 12).SelectMany(n => new[]
        {
            new string('x', n) + "=",
            new string('x', n) + "é",
            new string('x', n) + "😀",
            new string('x', n) + " ",
            new string('=', n),
            new string('x', n - 1) + ". end",
        })) + "\n=?utf-8?Q?x?=\n=3D\n=\n"),
        ["control-characters"] = () => Spec("Controls", text: "nul\0 bell\a esc\u001b del\u007f c1\u0085 ls\u2028 ps\u2029 bom\ufeff\n"),
        ["extra-headers"] = () =>
        {
            var spec = Spec("Extra", text: "x\n");
            spec.Headers["X-Campaign"] = "spring-2030";
            spec.Headers["X-Unicode-Note"] = "Grüße aus Köln 😀";
            spec.Headers["List-Unsubscribe"] = "<https://example.com/unsubscribe?id=1&x=?y>, <mailto:unsubscribe@example.com>";
            spec.Headers["X-Long"] = string.Join(' ', Enumerable.Range(0, 50).Select(i => $"token{i}"));
            spec.Bcc.Add(new MailAddress("hidden@example.com", "Hidden"));
            return spec;
        },
        ["bcc-only"] = () =>
        {
            var spec = new MessageSpec { From = new MailAddress("from@example.com"), Subject = "Bcc only", Text = "x\n" };
            spec.Bcc.Add(new MailAddress("hidden@example.com"));
            return spec;
        },
        ["boundary-lookalike-text"] = () => Spec("Boundary", text: "--=_\n--=_ABC\n--\n--=_ABCDEFGHIJKLMNOPQRSTUVWXYZ01--\n", html: "<p>--=_</p>"),
    };

    public static IEnumerable<object[]> Names => All.Keys.Select(k => new object[] { k });

    public static MessageSpec Get(string name) => All[name]();

    private static MessageSpec Spec(string? subject, string? text = null, string? html = null)
    {
        var spec = new MessageSpec
        {
            From = new MailAddress("sender@example.com", "Sender Name"),
            Subject = subject,
            Text = text,
            Html = html,
            Date = Now,
        };
        spec.To.Add(new MailAddress("rcpt@example.org", "Recipient"));
        return spec;
    }

    public static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A 1×1 PNG.</summary>
    public static byte[] Png() => Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
}
