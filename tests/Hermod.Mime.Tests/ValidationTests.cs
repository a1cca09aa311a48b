using System.Text;

namespace Hermod.Mime.Tests;

public class ValidationTests
{
    private static MessageSpec Valid()
    {
        var spec = new MessageSpec { From = new MailAddress("from@example.com"), Subject = "s", Text = "t" };
        spec.To.Add(new MailAddress("to@example.com"));
        return spec;
    }

    [Fact]
    public void A_valid_spec_has_no_problems() => Assert.Empty(MimeBuilder.Validate(Valid()));

    [Fact]
    public void From_and_a_recipient_are_required()
    {
        var spec = new MessageSpec { Text = "x" };

        Assert.Equal(["from: is required", "to: at least one recipient (to, cc or bcc) is required"], MimeBuilder.Validate(spec));
    }

    [Fact]
    public void Bcc_alone_is_enough()
    {
        var spec = new MessageSpec { From = new MailAddress("from@example.com") };
        spec.Bcc.Add(new MailAddress("b@example.com"));

        Assert.Empty(MimeBuilder.Validate(spec));
    }

    [Fact]
    public void Bad_addresses_are_named_by_field_and_index()
    {
        var spec = Valid();
        spec.From = new MailAddress("not an address");
        spec.To.Add(new MailAddress("ok@example.com"));
        spec.To.Add(new MailAddress("x"));
        spec.Cc.Add(new MailAddress("c@example.com", "Evil\r\nBcc: victim@example.com"));
        spec.Bcc.Add(new MailAddress("b@@example.com"));
        spec.ReplyTo.Add(new MailAddress("r@exa mple.com"));

        Assert.Equal(
        [
            "from: 'not an address' is not an email address",
            "to[2]: 'x' is not an email address",
            "cc[0].name: may not contain line breaks, tabs, control characters or unpaired surrogates",
            "bcc[0]: 'b@@example.com' is not an email address",
            "reply_to[0]: 'r@exa mple.com' is not an email address",
        ], MimeBuilder.Validate(spec));
    }

    [Theory]
    [InlineData("Bcc", "x@example.com", "headers.Bcc: may not be set")]
    [InlineData("from", "x@example.com", "headers.from: may not be set")]
    [InlineData("Reply-To", "x@example.com", "headers.Reply-To: may not be set")]
    [InlineData("Message-ID", "<a@b>", "headers.Message-ID: may not be set")]
    [InlineData("MIME-Version", "1.0", "headers.MIME-Version: may not be set")]
    [InlineData("Content-Type", "text/plain", "headers.Content-Type: may not be set")]
    [InlineData("content-transfer-encoding", "8bit", "headers.content-transfer-encoding: may not be set")]
    [InlineData("Date", "now", "headers.Date: may not be set")]
    [InlineData("Subject", "x", "headers.Subject: may not be set")]
    [InlineData("X-Tag", "a\r\nBcc: x@example.com", "headers.X-Tag: may not contain line breaks")]
    [InlineData("X-Tag", "a\nb", "headers.X-Tag: may not contain line breaks")]
    [InlineData("X-Tag", "a\0b", "headers.X-Tag: may not contain control characters or unpaired surrogates")]
    [InlineData("X Tag", "v", "headers: 'X Tag' is not a header name (printable ASCII, no ':')")]
    [InlineData("X-Tag:", "v", "headers: 'X-Tag:' is not a header name (printable ASCII, no ':')")]
    [InlineData("X-Täg", "v", "headers: 'X-Täg' is not a header name (printable ASCII, no ':')")]
    [InlineData("X-Tag\r\nBcc", "v", "headers: 'X-Tag??Bcc' is not a header name (printable ASCII, no ':')")]
    [InlineData("", "v", "headers: '' is not a header name (printable ASCII, no ':')")]
    public void Extra_headers(string name, string value, string problem)
    {
        var spec = Valid();
        spec.Headers[name] = value;

        Assert.Equal([problem], MimeBuilder.Validate(spec));
    }

    [Fact]
    public void Extra_headers_that_are_fine()
    {
        var spec = Valid();
        spec.Headers["X-Tag"] = "Grüße \t tab";
        spec.Headers["List-Unsubscribe"] = "<https://example.com/u?a=1>";
        spec.Headers["Sender"] = "s@example.com";

        Assert.Empty(MimeBuilder.Validate(spec));
    }

    [Fact]
    public void A_header_name_longer_than_100()
    {
        var spec = Valid();
        spec.Headers["X-" + new string('n', 98)] = "v";
        spec.Headers["X-" + new string('m', 99)] = "v";

        Assert.Equal(["headers: 'X-mmmmmmmmmmmmmmmmmm...' is longer than 100 characters"], MimeBuilder.Validate(spec));
    }

    [Fact]
    public void An_ascii_header_word_too_long_to_fold()
    {
        var spec = Valid();
        spec.Headers["X-Long"] = new string('a', 950);

        Assert.Equal(["headers.X-Long: has a word too long to fold (over 900 characters)"], MimeBuilder.Validate(spec));
    }

    [Theory]
    [InlineData("line\nbreak")]
    [InlineData("line\rbreak")]
    [InlineData("nul\0")]
    [InlineData("lone surrogate")]
    public void Subject_text(string subject)
    {
        var spec = Valid();
        spec.Subject = subject == "lone surrogate" ? "lone \ud800 surrogate" : subject; // theory data cannot carry one

        Assert.Equal(["subject: may not contain line breaks, control characters or unpaired surrogates"], MimeBuilder.Validate(spec));
    }

    [Fact]
    public void Bodies_must_be_valid_unicode()
    {
        var spec = Valid();
        spec.Text = "a\udc00b";
        spec.Html = "\ud800";

        Assert.Equal(["text: contains an unpaired surrogate (not valid Unicode)", "html: contains an unpaired surrogate (not valid Unicode)"], MimeBuilder.Validate(spec));
    }

    [Fact]
    public void Attachments()
    {
        var spec = Valid();
        var bytes = Encoding.ASCII.GetBytes("x");
        spec.Attachments.Add(new MimeAttachment("ok.png", "image/png", bytes, "logo@example.com"));
        spec.Attachments.Add(new MimeAttachment("", "image/png", bytes));
        spec.Attachments.Add(new MimeAttachment(new string('a', 256), "image/png", bytes));
        spec.Attachments.Add(new MimeAttachment("a\nb.txt", "text/plain", bytes));
        spec.Attachments.Add(new MimeAttachment("a.txt", "text", bytes));
        spec.Attachments.Add(new MimeAttachment("a.txt", "", bytes));
        spec.Attachments.Add(new MimeAttachment("a.eml", "message/rfc822", bytes));
        spec.Attachments.Add(new MimeAttachment("a.txt", "text/plain; name=x", bytes));
        spec.Attachments.Add(new MimeAttachment("a.png", "image/png", bytes, "has space@example.com"));
        spec.Attachments.Add(new MimeAttachment("b.png", "image/png", bytes, "<logo@example.com>"));
        spec.Attachments.Add(new MimeAttachment("c.png", "image/png", bytes, "image001.png"));

        Assert.Equal(
        [
            "attachments[1].filename: is required",
            "attachments[2].filename: longer than 255 characters",
            "attachments[3].filename: may not contain control characters or unpaired surrogates",
            "attachments[4].content_type: 'text' is not a media type (type/subtype)",
            "attachments[5].content_type: is required",
            "attachments[6].content_type: message/* cannot be attached as base64",
            "attachments[7].content_type: the 'name' parameter is written by Hermod",
            "attachments[8].content_id: 'has space@example.com' is not a content id (such as logo@example.com)",
            "attachments[9].content_id: '<logo@example.com>' is used by another part",
        ], MimeBuilder.Validate(spec));
    }

    [Theory]
    [InlineData("text/csv; charset=utf-8")]
    [InlineData("Application/PDF")]
    [InlineData("text/plain; charset=\"us-ascii\"; format=flowed;")]
    public void Media_types_that_are_fine(string contentType)
    {
        var spec = Valid();
        spec.Attachments.Add(new MimeAttachment("a", contentType, new byte[1]));

        Assert.Empty(MimeBuilder.Validate(spec));
    }

    [Theory]
    [InlineData("abc@example.com", true)]
    [InlineData("<abc@example.com>", true)]
    [InlineData("abc.def@[127.0.0.1]", true)]
    [InlineData("abc", false)]
    [InlineData("a b@example.com", false)]
    [InlineData("<abc@example.com", false)]
    [InlineData("äbc@example.com", false)]
    public void Message_id(string id, bool valid)
    {
        var spec = Valid();
        spec.MessageId = id;

        Assert.Equal(valid ? [] : [$"message_id: '{id}' is not a message id (id@domain)"], MimeBuilder.Validate(spec));
    }
}
