using System.Text;
using Hermod.Core.Configuration;
using Hermod.Hosting.Configuration;
using Hermod.Hosting.Tests.Pipeline;
using Microsoft.Data.Sqlite;

namespace Hermod.Hosting.Tests.Processors;

/// <summary>The stream processors a body passes through on its way to storage, configured per pipeline and seen end to end.</summary>
public sealed class StreamProcessorTests
{
    /// <summary>A compressible body of about 200 KB: several chunks, with a header block a modifier rewrites.</summary>
    private static string Message(string subject = "processors")
    {
        var body = new StringBuilder();
        for (var i = 0; i < 3000; i++)
            body.Append("Line ").Append(i).Append(" of a body that compresses well, the same words again and again.\r\n");
        return $"From: a@remote.test\r\nTo: u@example.test\r\nX-Internal: secret\r\nSubject: {subject}\r\n\r\n{body}";
    }

    private static async Task<string> SendAsync(PipelineHost host, string content)
    {
        var smtp = await host.ConnectAsync();
        await using var _ = smtp;
        await smtp.SendAndExpectAsync("MAIL FROM:<a@remote.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<u@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(content.Replace("\r\n.", "\r\n..", StringComparison.Ordinal) + ".\r\n");
        var reply = await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
        return reply[(reply.LastIndexOf(' ') + 1)..].Trim();
    }

    private static long Scalar(PipelineHost host, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(host.DataDir, "hermod.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Body(byte[] stored)
    {
        var text = Encoding.ASCII.GetString(stored);
        return text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
    }

    [Fact]
    public async Task Compress_stores_Brotli_and_every_reader_gets_the_body_back_byte_exact_also_under_a_rewritten_header()
    {
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "packed",
            Pipelines = """
                packed:
                  processors: [trace_header, hash, { compress: { level: optimal } }]
                  modifiers:
                    - remove_header: { names: [X-Internal] }
                """,
        });
        var content = Message();
        var id = await SendAsync(host, content);

        Assert.Equal(1, Scalar(host, "SELECT count(*) FROM blobs WHERE encoding = 'br'"));
        var stored = Scalar(host, "SELECT size FROM blobs");
        Assert.True(stored * 10 < content.Length, $"{stored} bytes at rest for a {content.Length}-byte message");

        var read = Encoding.ASCII.GetString(await host.ContentAsync(id));
        Assert.StartsWith("Received: from client.test", read, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Internal", read, StringComparison.Ordinal);
        Assert.Contains("Subject: processors\r\n", read, StringComparison.Ordinal);
        Assert.Equal(Body(Encoding.ASCII.GetBytes(content)), Body(Encoding.ASCII.GetBytes(read)));
        Assert.Equal(read.Length, (await host.GetAsync(id)).Size); // the size of the message, not of its compressed bytes
    }

    [Fact]
    public async Task Hash_stores_identical_bodies_once_and_without_it_each_body_is_stored_on_its_own()
    {
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "hashed",
            SubmissionPipeline = "plain",
            Pipelines = """
                hashed:
                  processors: [trace_header, hash]
                plain:
                  processors: [trace_header]
                """,
        });
        var content = Message();
        await SendAsync(host, content);
        await SendAsync(host, content);
        Assert.Equal(1, Scalar(host, "SELECT count(*) FROM blobs"));
        Assert.Equal(2, Scalar(host, "SELECT refcount FROM blobs"));

        await using var smtp = await host.LoginAsync();
        for (var i = 0; i < 2; i++)
            await PipelineHost.SendAsync(smtp, "alice@example.test", ["u@example.test"], content + ".\r\n");
        Assert.Equal(3, Scalar(host, "SELECT count(*) FROM blobs"));
    }

    [Fact]
    public async Task Size_limit_refuses_a_larger_body_with_552_and_stores_nothing()
    {
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "small",
            Pipelines = """
                small:
                  processors: [trace_header, hash, { size_limit: { max: 100KB } }]
                """,
        });
        await using (var smtp = await host.ConnectAsync())
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<a@remote.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<u@example.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAsync(Message() + ".\r\n");
            await smtp.ExpectAsync(System.Text.RegularExpressions.Regex.Escape("552 5.3.4 Message too big (this service takes at most 102400 bytes)"));
            await smtp.SendAndExpectAsync("NOOP", "250"); // the session goes on
        }
        Assert.Equal(0, Scalar(host, "SELECT count(*) FROM messages"));

        var small = "From: a@remote.test\r\nSubject: small\r\n\r\nfits\r\n";
        var id = await SendAsync(host, small);
        Assert.EndsWith("\r\n\r\nfits\r\n", Encoding.ASCII.GetString(await host.ContentAsync(id)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_check_reads_the_body_decoded_from_a_compressed_blob()
    {
        // recipient_exists cannot see bodies; authorize_sender reads the From header of the stored body at the body stage.
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            SubmissionPipeline = "out",
            Pipelines = """
                out:
                  processors: [trace_header, compress]
                  checks:
                    - authorize_sender: { same_local_part: true, local_domains: [example.test] }
                """,
        });
        await using var smtp = await host.LoginAsync();
        await smtp.SendAndExpectAsync("MAIL FROM:<alice@example.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<u@remote.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(Message().Replace("From: a@remote.test", "From: mallory@example.test", StringComparison.Ordinal) + ".\r\n");
        await smtp.ExpectAsync("553 5.7.1"); // the From header was found inside the compressed body
        var id = await PipelineHost.SendAsync(smtp, "alice@example.test", ["u@remote.test"],
            Message().Replace("From: a@remote.test", "From: alice@example.test", StringComparison.Ordinal) + ".\r\n");
        Assert.Contains("From: alice@example.test", Encoding.ASCII.GetString(await host.ContentAsync(id)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_without_trace_header_and_bad_processor_options_are_config_errors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hermod-processors-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, """
            pipelines:
              a:
                processors: [hash]
            """);
        try
        {
            var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path, new Dictionary<string, string>()));
            Assert.Contains($"{path}:3: pipelines.a.processors: must include trace_header", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
