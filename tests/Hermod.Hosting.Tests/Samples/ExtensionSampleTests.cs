using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Samples;

/// <summary>The sample tests build with <c>dotnet build</c>: alone, after the parallel tests, one build shared.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SampleCollection : ICollectionFixture<SampleBuild>
{
    public const string Name = "Samples";
}

/// <summary>
/// samples/Hermod.Samples.Extensions, built and run as a process like a user would: its check, modifier and target
/// are named in hermod.yaml, validated by check-config, and observed over SMTP, in the journal file, in the stored
/// message (<c>queue show --raw</c>) and in the log of its start and stop hooks.
/// </summary>
[Collection(SampleCollection.Name)]
public sealed partial class ExtensionSampleTests(SampleBuild build) : IDisposable
{
    private const string Project = "Hermod.Samples.Extensions";
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateTempSubdirectory("hermod-sample-").FullName;

    private string ConfigPath => Path.Combine(_dir, "hermod.yaml");

    private string JournalPath => Path.Combine(_dir, "journal", "journal.jsonl"); // its directory does not exist yet: the start hook makes it

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // a process killed a moment ago may still hold a file; the temp directory is cleaned eventually
        }
    }

    /// <summary>hermod.yaml with the three sample components; the parts the config tests replace are parameters.</summary>
    private string Yaml(string keyword = "{ keywords: [lottery, 'free money'] }", string tag = "{ tag: sample }", string? journal = null)
    {
        journal ??= $"{{ type: jsonl, path: '{JournalPath}' }}";
        return $$"""
            hostname: mx.example.test
            data_dir: '{{Path.Combine(_dir, "data")}}'
            smtp:
              local_domains: [example.test]
              listeners:
                # store and forward: the reply carries the queue id, and the queue runner writes the journal
                - { name: mx, address: '127.0.0.1:0', role: ingress, tls: none, auth: none, pipeline: inbound, cut_through: false }
                - { name: hold, address: '127.0.0.1:0', role: ingress, tls: none, auth: none, pipeline: hold }
            http: { address: '127.0.0.1:0' }
            dns: { servers: ['127.0.0.1:9'] }
            delivery: { enabled: true, retry: { min: 1s } }
            log: { level: information }
            targets:
              journal: {{journal}}
            pipelines:
              inbound:
                processors: [trace_header, hash, body_stats]
                checks:
                  - subject_keyword: {{keyword}}
                modifiers:
                  - tag_subject: {{tag}}
                deliver_to: [journal]
              hold:
                checks:
                  - subject_keyword: { keywords: [lottery], action: quarantine }
                deliver_to: [journal]

            """;
    }

    private async Task<ProcessResult> CliAsync(string dll, params string[] args) =>
        await Peers.RunAsync(HermodProcess.DotnetHost, [dll, .. args, "--config", ConfigPath], CliTimeout, environment: SampleBuild.ChildEnvironment());

    [Fact]
    public async Task Serve_refuses_a_keyword_subject_tags_the_others_and_journals_each_recipient()
    {
        var dll = await build.BuildAsync(Project);
        await File.WriteAllTextAsync(ConfigPath, Yaml());
        await using var sample = await SampleProcess.StartAsync(dll, ConfigPath, _dir, ["mx", "hold"]);

        // the target's start hook ran before the listeners took connections, and made the journal's directory
        var lines = sample.Lines.ToList();
        var started = lines.FindIndex(l => l.Contains($"jsonl target journal started: appending to {JournalPath}", StringComparison.Ordinal));
        var listening = lines.FindIndex(l => l.Contains("SMTP listener mx", StringComparison.Ordinal));
        Assert.True(started >= 0 && started < listening, "no start hook line before the listeners; log:\n" + sample.Log);
        Assert.True(File.Exists(JournalPath), $"{JournalPath} was not created by the start hook");

        await using (var smtp = await SmtpTranscript.ConnectAsync(sample.Smtp("mx")))
        {
            await smtp.ExpectAsync("220 ");
            await smtp.SendAndExpectAsync("EHLO client.test", "250[- ]");
            // a keyword, in other case, in a folded Subject: refused at the end of DATA
            await SendAsync(smtp, ["bob@example.test"], "Win a\r\n LOTTERY now", "550 5.7.1 Message refused: subject keyword");
            // the next transaction on the same session is accepted and tagged
            var reply = await SendAsync(smtp, ["bob@example.test", "carol@example.test"], "Quarterly report", "250 2.0.0 ");
            var id = QueuedAs().Match(reply).Groups["id"].Value;
            Assert.False(string.IsNullOrEmpty(id), reply);
            await smtp.SendAndExpectAsync("QUIT", "221 ");

            var journal = await WaitForLinesAsync(2, sample);
            Assert.All(journal, line => Assert.Equal(id, line.GetProperty("id").GetString()));
            Assert.Equal(["bob@example.test", "carol@example.test"], journal.Select(l => l.GetProperty("recipient").GetString()!).Order());
            Assert.All(journal, line => Assert.Equal("alice@sender.test", line.GetProperty("sender").GetString()));

            // the line describes the content as delivered: the stored message, Received field and new Subject included
            var raw = await CliAsync(dll, "queue", "show", "--raw", id);
            Assert.True(raw.ExitCode == 0, raw.Describe());
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(raw.StdoutBytes));
            Assert.All(journal, line =>
            {
                Assert.Equal(sha256, line.GetProperty("sha256").GetString());
                Assert.Equal(raw.StdoutBytes.Length, line.GetProperty("size").GetInt64());
            });
            var header = raw.Stdout[..raw.Stdout.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
            Assert.Matches(new Regex("^Received: from client.test "), header);
            var subject = Assert.Single(header.Split("\r\n"), l => l.StartsWith("Subject:", StringComparison.OrdinalIgnoreCase));
            Assert.Equal("Subject: [sample] Quarterly report", subject);
            // the stream processor counted the message as received: its header block and "Hello Bob.\r\n"
            var stats = Assert.Single(header.Split("\r\n"), l => l.StartsWith("X-Body-Stats:", StringComparison.Ordinal));
            var counted = new Regex(@"^X-Body-Stats: lines=(?<lines>\d+) bytes=(?<bytes>\d+)$").Match(stats);
            Assert.True(counted.Success, stats);
            Assert.True(int.Parse(counted.Groups["lines"].Value, CultureInfo.InvariantCulture) >= 5, stats);
            Assert.True(int.Parse(counted.Groups["bytes"].Value, CultureInfo.InvariantCulture) > "Hello Bob.\r\n".Length, stats);
            Assert.EndsWith("\r\n\r\nHello Bob.\r\n", raw.Stdout, StringComparison.Ordinal);
        }

        // action: quarantine accepts and holds: never journalled
        await using (var smtp = await SmtpTranscript.ConnectAsync(sample.Smtp("hold")))
        {
            await smtp.ExpectAsync("220 ");
            await smtp.SendAndExpectAsync("EHLO client.test", "250[- ]");
            var reply = await SendAsync(smtp, ["dave@example.test"], "lottery results", "250 2.0.0 ");
            var held = QueuedAs().Match(reply).Groups["id"].Value;
            await smtp.SendAndExpectAsync("QUIT", "221 ");
            await WaitForLogAsync(sample, $"{held} to <dave@example.test>: Held: held: quarantined");
            Assert.DoesNotContain(held, await File.ReadAllTextAsync(JournalPath));
        }

        // SIGTERM: a clean exit, after the stop hook closed the journal
        var exit = await sample.TerminateAsync();
        Assert.True(exit == 0, $"exit code {exit} after SIGTERM; log:\n{sample.Log}");
        Assert.Contains(sample.Lines, l => l.Contains($"jsonl target journal stopped: {JournalPath} closed after 2 line(s)", StringComparison.Ordinal));
        Assert.Equal(2, (await File.ReadAllLinesAsync(JournalPath)).Length);
    }

    [Fact]
    public async Task CheckConfig_accepts_the_sample_configurations_without_opening_the_journal()
    {
        var dll = await build.BuildAsync(Project);
        await File.WriteAllTextAsync(ConfigPath, Yaml());
        var result = await CliAsync(dll, "check-config");
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("configuration ok: 2 SMTP listener(s), 2 pipeline(s), 1 target(s)", result.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.GetDirectoryName(JournalPath)), "check-config ran the start hook: the journal's directory was made");

        // the hermod.yaml the sample's README runs
        var readme = await Peers.RunAsync(HermodProcess.DotnetHost,
            [dll, "check-config", "--config", Path.Combine(SampleBuild.RepositoryRoot, "samples", Project, "hermod.yaml")], CliTimeout,
            environment: SampleBuild.ChildEnvironment());
        Assert.True(readme.ExitCode == 0, readme.Describe());
    }

    [Theory]
    [InlineData("keyword", "{}", "pipelines.inbound.checks[0].subject_keyword.keywords", "is required")]
    [InlineData("keyword", "{ keywords: [] }", "pipelines.inbound.checks[0].subject_keyword.keywords", "must list at least one keyword")]
    [InlineData("keyword", "{ keywords: [lottery], action: drop }", "pipelines.inbound.checks[0].subject_keyword.action", "'drop' is not one of reject, quarantine")]
    [InlineData("keyword", "{ keywords: [lottery], actoin: reject }", "pipelines.inbound.checks[0].subject_keyword.actoin", "unknown key")]
    [InlineData("tag", "{}", "pipelines.inbound.modifiers[0].tag_subject.tag", "is required")]
    [InlineData("tag", "{ tag: \"a\\r\\nBcc: x@example.org\" }", "pipelines.inbound.modifiers[0].tag_subject.tag", "CR and LF are not allowed")]
    [InlineData("tag", "{ tag: 'caf\u00e9' }", "pipelines.inbound.modifiers[0].tag_subject.tag", "printable ASCII")]
    [InlineData("journal", "{ type: jsonl }", "targets.journal.path", "is required")]
    [InlineData("journal", "{ type: jsonl, path: '{dir}' }", "targets.journal.path", "is a directory")]
    public async Task CheckConfig_names_the_key_of_a_bad_option_and_exits_2(string part, string section, string key, string reason)
    {
        var dll = await build.BuildAsync(Project);
        section = section.Replace("{dir}", _dir, StringComparison.Ordinal);
        await File.WriteAllTextAsync(ConfigPath, part switch
        {
            "keyword" => Yaml(keyword: section),
            "tag" => Yaml(tag: section),
            _ => Yaml(journal: section),
        });
        var result = await CliAsync(dll, "check-config");
        Assert.True(result.ExitCode == 2, result.Describe());
        Assert.Matches(new Regex($@"hermod\.yaml:\d+: {Regex.Escape(key)}: [^\n]*{Regex.Escape(reason)}"), result.Stderr);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>One transaction: MAIL, RCPT for each recipient, DATA with the subject; the reply to the end of data must match <paramref name="expect"/>.</summary>
    private static async Task<string> SendAsync(SmtpTranscript smtp, string[] recipients, string subject, string expect)
    {
        await smtp.SendAndExpectAsync("MAIL FROM:<alice@sender.test>", "250 ");
        foreach (var recipient in recipients)
            await smtp.SendAndExpectAsync($"RCPT TO:<{recipient}>", "250 ");
        await smtp.SendAndExpectAsync("DATA", "354 ");
        await smtp.SendAsync($"From: Alice <alice@sender.test>\r\nTo: Bob <bob@example.test>\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@sender.test>\r\n\r\nHello Bob.\r\n.\r\n");
        return await smtp.ExpectAsync(Regex.Escape(expect));
    }

    /// <summary>The journal's lines once it has <paramref name="count"/> (bounded wait: delivery runs in the background).</summary>
    private async Task<List<JsonElement>> WaitForLinesAsync(int count, SampleProcess sample)
    {
        using var timeout = new CancellationTokenSource(DeliveryTimeout);
        string[] lines = [];
        while (!timeout.IsCancellationRequested)
        {
            lines = File.Exists(JournalPath) ? await File.ReadAllLinesAsync(JournalPath) : [];
            if (lines.Length >= count)
                break;
            await Task.Delay(100);
        }
        Assert.True(lines.Length == count, $"the journal has {lines.Length} line(s), not {count}, after {DeliveryTimeout.TotalSeconds} s:\n{string.Join('\n', lines)}\nlog:\n{sample.Log}");
        return [.. lines.Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            return json.RootElement.Clone();
        })];
    }

    private static async Task WaitForLogAsync(SampleProcess sample, string text)
    {
        using var timeout = new CancellationTokenSource(DeliveryTimeout);
        while (!timeout.IsCancellationRequested)
        {
            if (sample.Lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
                return;
            await Task.Delay(100);
        }
        Assert.Fail($"no log line with '{text}' within {DeliveryTimeout.TotalSeconds} s; log:\n{sample.Log}");
    }

    [GeneratedRegex(@"queued as (?<id>\S+)")]
    private static partial Regex QueuedAs();
}
