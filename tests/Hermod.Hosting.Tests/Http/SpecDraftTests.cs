using System.Text;
using Hermod.Hosting.Http;
using Hermod.Hosting.Http.V1;
using Microsoft.Extensions.Time.Testing;

namespace Hermod.Hosting.Tests.Http;

/// <summary>A JSON spec as the API reads it: attachments' base64 as clients write it.</summary>
public class SpecDraftTests
{
    private static Task<SpecDraft.Result> BuildAsync(string attachment, string to = """[{"address":"b@example.org"}]""") =>
        SpecDraft.BuildAsync(Encoding.UTF8.GetBytes($$"""
            {"from":{"address":"a@example.com"},"to":{{to}},"text":"t",
             "attachments":[{"filename":"f.bin","content_type":"application/octet-stream"{{attachment}}}]}
            """), new ApiOptions(), "mx.example.test", new FakeTimeProvider(), CancellationToken.None);

    [Theory]
    [InlineData("AAECAwQFBgcICQ==")]
    [InlineData("AAECAwQF BgcICQ==")]
    [InlineData("AAECAwQF\\nBgcICQ==\\n")] // line breaks, as Python's base64.encodebytes writes
    [InlineData("AAECAwQF\\r\\nBgcI CQ==")]
    [InlineData("AAECAwQFBgcICQ\\u003d\\u003d")] // escaped in the JSON
    public async Task Base64_content_is_decoded(string content)
    {
        var result = await BuildAsync($$""","content":"{{content}}" """);

        Assert.Null(result.Errors);
        var message = Encoding.ASCII.GetString(result.Draft!.Content.Span);
        Assert.Contains("\r\n\r\nAAECAwQFBgcICQ==\r\n", message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(""","content":null""")]
    [InlineData(""","content":"" """)]
    public async Task Content_left_out_or_empty_is_an_empty_attachment(string content)
    {
        var result = await BuildAsync(content);

        Assert.Null(result.Errors);
        Assert.Contains("Content-Disposition: attachment; filename=f.bin\r\n\r\n\r\n--", Encoding.ASCII.GetString(result.Draft!.Content.Span));
    }

    [Fact]
    public async Task Content_that_is_not_base64_is_an_error_at_its_field_with_the_others()
    {
        var result = await BuildAsync(""","content":"!!" """, to: "[]");

        Assert.Equal(["Not valid base64."], result.Errors!["attachments[0].content"]);
        Assert.True(result.Errors.ContainsKey("to"));
    }
}
