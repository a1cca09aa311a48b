using System.Collections;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Hosting.Configuration;
using Hermod.Hosting.TestKit;
using Hermod.Hosting.Tests.Interop;
using Hermod.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>
/// What a test configures of a <see cref="PipelineHost"/>: the YAML under <c>targets:</c> and <c>pipelines:</c> (written
/// without indentation; the host indents it), which pipeline each entry point uses, delivery and DNS.
/// </summary>
public sealed record PipelineSetup
{
    /// <summary>The body of <c>pipelines:</c>.</summary>
    public string Pipelines { get; init; } = "";

    /// <summary>The body of <c>targets:</c> (none when empty).</summary>
    public string Targets { get; init; } = "";

    public string? MxPipeline { get; init; }
    public string? SubmissionPipeline { get; init; }
    public string? HttpPipeline { get; init; }

    /// <summary>false: accept and hold, nothing leaves the queue.</summary>
    public bool Delivery { get; init; }

    /// <summary>delivery.retry.min: long by default, so a retry happens only when a test asks (<c>queue retry</c>).</summary>
    public string RetryMin { get; init; } = "1h";

    /// <summary>The DNS server Hermod asks; null: 127.0.0.1:9, where nothing answers.</summary>
    public IPEndPoint? Dns { get; init; }

    /// <summary>Every entry point's <c>cut_through:</c>; false (store and forward) unless a test is about cut-through.</summary>
    public string CutThrough { get; init; } = "false";

    /// <summary>The body of <c>routes:</c> (none when empty).</summary>
    public string Routes { get; init; } = "";

    /// <summary>Checks, modifiers or targets beyond the built-in ones (<c>AddCheck</c>, ...).</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>More logging (a <see cref="Hermod.TestKit.LogCapture"/>, say) on top of the host's own.</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }
}

/// <summary>
/// A real Hermod in this process, configured the way an operator does it: a complete hermod.yaml (listeners "mx"
/// (ingress) and "submission" (AUTH as alice, also without TLS) and HTTP on 127.0.0.1:0) loaded with
/// <see cref="ConfigLoader"/>, then <see cref="HermodHost"/> started from it. Everything lives in one temporary
/// directory: <see cref="Work"/> for the test's own files (tables, keys, maildirs), data_dir beside it.
/// Create it, write files with <see cref="WriteFile"/>, then <see cref="StartAsync"/>; dispose to stop and clean up.
/// </summary>
public sealed class PipelineHost : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private HermodHost? _host;

    public PipelineHost()
    {
        Root = Directory.CreateTempSubdirectory("hermod-pipeline-").FullName;
        Work = Directory.CreateDirectory(Path.Combine(Root, "work")).FullName;
        DataDir = Path.Combine(Root, "data");
        ConfigPath = Path.Combine(Root, "hermod.yaml");
    }

    public string Root { get; }
    public string Work { get; }
    public string DataDir { get; }
    public string ConfigPath { get; }
    public string Yaml { get; private set; } = "";

    public HermodHost Host => _host ?? throw new InvalidOperationException("not started");
    public HermodOptions Options => Host.Services.GetRequiredService<HermodOptions>();
    public IMessageStore Store => Host.Services.GetRequiredService<IMessageStore>();
    public IPEndPoint Smtp(string listener = "mx") => Host.SmtpEndpoints[listener];
    public Uri Http => new($"http://{Host.HttpEndpoint}");

    /// <summary>Writes a file under <see cref="Work"/> and returns its full path.</summary>
    public string WriteFile(string name, string text)
    {
        var path = Path.Combine(Work, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public async Task StartAsync(PipelineSetup setup)
    {
        Yaml = Config(setup);
        await File.WriteAllTextAsync(ConfigPath, Yaml);
        HermodConfiguration options;
        try
        {
            options = ConfigLoader.Load(ConfigPath, new Hashtable()); // no HERMOD_* variables of this process
        }
        catch (ConfigException e)
        {
            Assert.Fail($"{e.Message}\n--- hermod.yaml ---\n{Yaml}");
            throw;
        }
        var host = HermodHost.Create(options, setup.Services, setup.Logging);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        _host = host;
    }

    private string Config(PipelineSetup s)
    {
        string Pipeline(string? name) => $", cut_through: {s.CutThrough}" + (name is null ? "" : $", pipeline: {name}");
        var dns = s.Dns ?? new IPEndPoint(IPAddress.Loopback, 9);
        var yaml = new StringBuilder();
        yaml.Append($$"""
            hostname: mx.example.test
            data_dir: "{{DataDir}}"
            log: { level: warning }
            smtp:
              local_domains: [example.test]
              listeners:
                - { name: mx, address: "127.0.0.1:0", role: ingress, tls: starttls, auth: none{{Pipeline(s.MxPipeline)}} }
                - { name: submission, address: "127.0.0.1:0", role: submission, tls: starttls, auth: required, allow_plaintext_auth: true{{Pipeline(s.SubmissionPipeline)}} }
            users:
              - { name: alice, password_hash: "{{TestHost.PasswordHash}}" }
            dns: { servers: ["{{dns}}"], timeout: 500ms, attempts: 2 }
            http: { address: "127.0.0.1:0"{{Pipeline(s.HttpPipeline)}} }
            delivery:
              enabled: {{(s.Delivery ? "true" : "false")}}
              retry: { min: {{s.RetryMin}}, max: 2h, max_age: 1d }
              timeouts: { connect: 2s, command: 5s, data_block: 5s, data_end: 5s }

            """);
        if (s.Targets.Length > 0)
            yaml.Append("targets:\n").Append(Indent(s.Targets));
        if (s.Pipelines.Length > 0)
            yaml.Append("pipelines:\n").Append(Indent(s.Pipelines));
        if (s.Routes.Length > 0)
            yaml.Append("routes:\n").Append(Indent(s.Routes));
        return yaml.ToString();
    }

    private static string Indent(string block) =>
        string.Concat(block.ReplaceLineEndings("\n").Split('\n').Where(l => l.Trim().Length > 0).Select(l => "  " + l + "\n"));

    /// <summary>Connects to a listener and reads the greeting.</summary>
    public async Task<SmtpTranscript> ConnectAsync(string listener = "mx")
    {
        var smtp = await SmtpTranscript.ConnectAsync(Smtp(listener));
        await smtp.ExpectAsync("220 mx.example.test ESMTP");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        return smtp;
    }

    /// <summary>Connects to the submission listener and authenticates as alice (AUTH PLAIN).</summary>
    public async Task<SmtpTranscript> LoginAsync()
    {
        var smtp = await ConnectAsync("submission");
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0alice\0{TestHost.Password}"));
        await smtp.SendAndExpectAsync($"AUTH PLAIN {plain}", "235");
        return smtp;
    }

    /// <summary>MAIL, every RCPT (each must be accepted), DATA with <paramref name="content"/> (CRLF lines, dot-stuffed); the queue id.</summary>
    public static async Task<string> SendAsync(SmtpTranscript smtp, string from, IEnumerable<string> to, string content)
    {
        await smtp.SendAndExpectAsync($"MAIL FROM:<{from}>", "250");
        foreach (var rcpt in to)
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(content);
        return StoredContent.QueueIdFrom(await smtp.ExpectAsync("250 2.0.0 Ok: queued as "));
    }

    public async Task<StoredMessage> GetAsync(string id) =>
        await Store.GetAsync(id, CancellationToken.None) ?? throw new InvalidOperationException($"no message {id} in the store");

    /// <summary>The message as stored (and as every target gets it), byte-exact.</summary>
    public async Task<byte[]> ContentAsync(string id)
    {
        using var buffer = new MemoryStream();
        Assert.True(await Store.CopyContentAsync(id, buffer, CancellationToken.None), $"message {id} is not in the store");
        return buffer.ToArray();
    }

    /// <summary>Polls the store until <paramref name="condition"/> holds; fails with the deliveries' states after <paramref name="within"/>.</summary>
    public async Task<StoredMessage> WaitAsync(string id, Func<StoredMessage, bool> condition, TimeSpan? within = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var message = await GetAsync(id);
            if (condition(message))
                return message;
            if (clock.Elapsed > (within ?? Wait))
                Assert.Fail($"{id} did not reach the expected state within {(within ?? Wait).TotalSeconds} s: "
                    + string.Join("; ", message.Deliveries.Select(d => $"<{d.Recipient}> {d.Route} {d.State} attempts={d.Attempts} {d.LastReply}")));
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until every delivery of the message is delivered, failed or cancelled.</summary>
    public Task<StoredMessage> WaitFinalAsync(string id) =>
        WaitAsync(id, m => m.Deliveries.All(d => d.State is DeliveryState.Delivered or DeliveryState.Failed or DeliveryState.Cancelled));

    /// <summary>Runs the hermod command line against this host's configuration (<c>--config</c> added).</summary>
    public async Task<ProcessResult> CliAsync(params string[] args)
    {
        var result = await CliRunner.RunAsync([.. args, "--config", ConfigPath]);
        Assert.True(result.ExitCode == 0, $"hermod {string.Join(' ', args)}: {result.Describe()}");
        return result;
    }

    /// <summary><c>hermod queue list --json</c>: what an operator sees in the queue.</summary>
    public async Task<JsonElement> QueueListAsync()
    {
        var result = await CliAsync("queue", "list", "--json");
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            await _host.DisposeAsync();
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a file still open by a child process: the temporary directory is left for the OS
        }
    }
}
