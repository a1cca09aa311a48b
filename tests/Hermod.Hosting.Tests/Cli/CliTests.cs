using System.Text.Json;
using Hermod.Core.Security;
using Hermod.Hosting.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.Cli;

/// <summary>The hermod binary's commands, run as processes.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hermod-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Check_config_exits_0_for_a_valid_file_and_2_naming_file_key_and_reason_otherwise()
    {
        var good = Path.Combine(_dir, "good.yaml");
        await File.WriteAllTextAsync(good, "smtp: { local_domains: [example.test] }\n");
        var ok = await CliRunner.RunAsync(["check-config", "--config", good]);
        Assert.Equal(0, ok.ExitCode);
        Assert.Contains("configuration ok", ok.Stdout);

        var bad = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, "smtp:\n  limits:\n    max_message_size: huge\n");
        var failed = await CliRunner.RunAsync(["check-config", "--config", bad]);
        Assert.Equal(2, failed.ExitCode);
        Assert.Contains($"{bad}:3: smtp.limits.max_message_size: 'huge' is not a size", failed.Stderr);

        var env = await CliRunner.RunAsync(["check-config", "--config", good], environment: new Dictionary<string, string?> { ["HERMOD_HTTP__ADDRESS"] = "nowhere" });
        Assert.Equal(2, env.ExitCode);
        Assert.Contains("environment HERMOD_HTTP__ADDRESS: http.address", env.Stderr);
    }

    [Fact]
    public async Task Check_config_prints_warnings_and_still_passes()
    {
        var old = Path.Combine(_dir, "old.yaml");
        await File.WriteAllTextAsync(old, "storage:\n  max_batch: 64\n");
        var result = await CliRunner.RunAsync(["check-config", "--config", old]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"hermod: warning: {old}:2: storage.max_batch: is deprecated: write it as storage.sqlite.max_batch", result.Stderr);
        Assert.Contains("configuration ok", result.Stdout);
    }

    [Fact]
    public async Task A_second_serve_on_the_same_data_directory_is_refused_naming_the_first_and_the_queue_commands_still_work()
    {
        await using var first = await HermodProcess.StartAsync();
        var second = Path.Combine(_dir, "second.yaml");
        await File.WriteAllTextAsync(second, $"data_dir: {first.DataDir}\n" +
            "smtp: { listeners: [ { name: mx, address: \"127.0.0.1:0\", tls: none } ] }\nhttp: { address: \"127.0.0.1:0\" }\n");
        var refused = await CliRunner.RunAsync(["serve", "--config", second]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"the data directory {first.DataDir} is in use by process {first.Pid}", refused.Stderr);
        var list = await CliRunner.RunAsync(["queue", "list", "--config", second]);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("0 message(s)", list.Stdout);
        Assert.False(first.HasExited);
    }

    [Fact]
    public async Task Serve_refuses_to_start_on_invalid_config()
    {
        var bad = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, "smtp:\n  listeners:\n    - { address: 127.0.0.1:0, role: submission, auth: none }\n");
        var result = await CliRunner.RunAsync(["serve", "--config", bad]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("smtp.listeners[0].auth", result.Stderr);
    }

    [Fact]
    public async Task Serve_says_which_listener_cannot_bind()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var address = taken.LocalEndpoint.ToString();
        var config = Path.Combine(_dir, "taken.yaml");
        await File.WriteAllTextAsync(config, $"data_dir: {Path.Combine(_dir, "data")}\nhttp: {{ address: '127.0.0.1:0' }}\nsmtp:\n  listeners:\n    - {{ name: mx, address: '{address}' }}\n");
        var result = await CliRunner.RunAsync(["serve", "--config", config]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"hermod: cannot start: SMTP listener mx cannot listen on {address}: ", result.Stderr);
    }

    [Theory]
    [InlineData("rsa2048", "k=rsa")]
    [InlineData("ed25519", "k=ed25519")]
    public async Task Dkim_keygen_writes_a_private_key_and_prints_the_txt_record(string algorithm, string keyType)
    {
        var result = await CliRunner.RunAsync(["dkim", "keygen", "--domain", "example.test", "--selector", "s1", "--algorithm", algorithm, "--dir", _dir]);
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.TrimEnd().Split('\n');
        Assert.Equal("publish this TXT record at s1._domainkey.example.test:", lines[^2]);
        Assert.StartsWith($"v=DKIM1; {keyType}; p=", lines[^1]);
        var pem = Path.Combine(_dir, "example.test.s1.pem");
        Assert.Contains("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(pem));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pem));
        var again = await CliRunner.RunAsync(["dkim", "keygen", "--domain", "example.test", "--selector", "s1", "--algorithm", algorithm, "--dir", _dir]);
        Assert.Equal(1, again.ExitCode); // an existing key is never overwritten
        Assert.Equal(1, (await CliRunner.RunAsync(["dkim", "keygen", "--domain", "example.test", "--selector", "s2", "--algorithm", "dsa", "--dir", _dir])).ExitCode);
    }

    [Fact]
    public async Task Hash_password_reads_stdin_and_prints_a_verifiable_salted_hash()
    {
        var first = await CliRunner.RunAsync(["hash-password"], stdin: "s3cret\n");
        var second = await CliRunner.RunAsync(["hash-password"], stdin: "s3cret\n");
        Assert.Equal(0, first.ExitCode);
        var hash = first.Stdout.Trim();
        Assert.StartsWith("$pbkdf2-sha512$210000$", hash);
        Assert.NotEqual(hash, second.Stdout.Trim()); // salted
        Assert.True(PasswordHasher.Verify("s3cret", hash));
        Assert.False(PasswordHasher.Verify("s3cret ", hash));
        Assert.Equal(1, (await CliRunner.RunAsync(["hash-password"], stdin: "")).ExitCode);
    }

    [Fact]
    public async Task Queue_list_and_show_read_what_the_server_stored()
    {
        // The CLI reads the store while the server runs (SQLite WAL: readers do not block the writer).
        await using var host = await TestHost.StartAsync();
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.StartTransactionAsync("from@remote.test", "a@example.test");
        await smtp.SendAndExpectAsync("RCPT TO:<b@example.test> NOTIFY=FAILURE", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        var id = QueueId(await smtp.SendAndExpectAsync("Subject: cli\r\n\r\nbody\r\n.", "250"));
        await smtp.StartTransactionAsync("other@remote.test", "c@example.test");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAndExpectAsync("x\r\n.", "250");
        var config = Path.Combine(_dir, "hermod.yaml");
        await File.WriteAllTextAsync(config, $"data_dir: {host.DataDir}\n");

        var json = await CliRunner.RunAsync(["queue", "list", "--json", "--config", config]);
        Assert.Equal(0, json.ExitCode);
        var list = JsonDocument.Parse(json.Stdout).RootElement;
        Assert.Equal(2, list.GetArrayLength());
        var first = list.EnumerateArray().Single(m => m.GetProperty("id").GetString() == id);
        Assert.Equal("from@remote.test", first.GetProperty("sender").GetString());
        Assert.Equal(["a@example.test", "b@example.test"], first.GetProperty("recipients").EnumerateArray().Select(r => r.GetProperty("address").GetString()));
        Assert.Equal("queued", first.GetProperty("state").GetString());
        Assert.True(first.GetProperty("size").GetInt64() > 0);

        var table = await CliRunner.RunAsync(["queue", "list", "--config", config]);
        Assert.Contains(id, table.Stdout);
        Assert.Contains("2 message(s)", table.Stdout);
        var none = await CliRunner.RunAsync(["queue", "list", "--state", "delivered", "--config", config]);
        Assert.Contains("0 message(s)", none.Stdout);

        var show = await CliRunner.RunAsync(["queue", "show", id, "--config", config]);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains($"id: {id}\nsender: <from@remote.test>\n", show.Stdout);
        Assert.Contains("recipient: <b@example.test> queued attempts=0 notify=Failure\n", show.Stdout);
        var raw = await CliRunner.RunAsync(["queue", "show", id, "--raw", "--config", config]);
        Assert.StartsWith("Received: from client.test", raw.Stdout);
        Assert.EndsWith("\r\n\r\nSubject: cli\r\n\r\nbody\r\n".Split("\r\n\r\n", 2)[1], raw.Stdout);
        Assert.EndsWith(show.Stdout.Split("\n\n", 2)[1], raw.Stdout);

        Assert.Equal(1, (await CliRunner.RunAsync(["queue", "show", "NOSUCHID", "--config", config])).ExitCode);
    }
}
