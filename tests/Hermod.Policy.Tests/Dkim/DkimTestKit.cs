using System.Diagnostics;
using System.Text;
using Hermod.Dns;

namespace Hermod.Policy.Tests.Dkim;

/// <summary>A DNS edge for the verifier: TXT answers from a table, or a failure status.</summary>
internal sealed class FakeTxtResolver : IDnsResolver
{
    private readonly Dictionary<string, string[]> _records = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, DnsStatus> _failures = new(StringComparer.OrdinalIgnoreCase);

    public List<string> Queries { get; } = [];

    public FakeTxtResolver Add(string name, params string[] texts)
    {
        _records[name] = texts;
        return this;
    }

    public FakeTxtResolver Fail(string name, DnsStatus status)
    {
        _failures[name] = status;
        return this;
    }

    public Task<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken = default)
    {
        lock (Queries)
            Queries.Add(name);
        if (_failures.TryGetValue(name, out var status))
            return Task.FromResult(new DnsAnswer(status, [], false));
        if (!_records.TryGetValue(name, out var texts))
            return Task.FromResult(new DnsAnswer(DnsStatus.NxDomain, [], false));
        var records = texts.Select(t => (DnsRecord)new TxtRecord(name, TimeSpan.FromMinutes(5), Split(t))).ToList();
        return Task.FromResult(new DnsAnswer(DnsStatus.Ok, records, false));
    }

    /// <summary>A TXT text as 255-byte character-strings, the way long DKIM records are published.</summary>
    public static IReadOnlyList<byte[]> Split(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return bytes.Chunk(255).ToList();
    }
}

internal static class DkimSamples
{
    public const string Message =
        "From: Alice Example <alice@example.org>\r\n" +
        "To: bob@example.net\r\n" +
        "Subject: Hello   there\r\n" +
        "\tfolded subject\r\n" +
        "Date: Sat, 22 Nov 2025 12:00:00 +0000\r\n" +
        "Message-ID: <1234@example.org>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "\r\n" +
        "Hi Bob,  \r\n" +
        "\r\n" +
        "this is\ta test.\r\n" +
        "\r\n" +
        "\r\n";

    public static Stream Stream(string message) => new MemoryStream(Encoding.Latin1.GetBytes(message));

    /// <summary>A stream that hands out at most <paramref name="chunk"/> bytes per read.</summary>
    public static Stream Trickle(string message, int chunk) => new TrickleStream(Encoding.Latin1.GetBytes(message), chunk);

    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, chunk), cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}

/// <summary>
/// The DKIM implementations no one here wrote: dkimpy (Debian python3-dkim, under /usr/bin/python3) and npm mailauth
/// (installed by <c>npm ci --prefix tests/Hermod.Policy.Tests/Dkim/node</c>). A missing peer fails, never skips.
/// </summary>
internal static class DkimPeers
{
    public const string Python = "/usr/bin/python3";
    public const string InstallHint = "install it: ./test.sh installs peers";

    public static string NodeDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "Dkim", "node");
                if (File.Exists(Path.Combine(dir.FullName, "Hermod.Policy.Tests.csproj")) && Directory.Exists(candidate))
                    return candidate;
            }
            Assert.Fail($"tests/Hermod.Policy.Tests/Dkim/node not found above {AppContext.BaseDirectory}");
            return "";
        }
    }

    public static async Task<string> DkimpyAsync(string message, params string[] arguments)
    {
        if (!File.Exists(Python))
            Assert.Fail($"{Python} not found (Debian python3): {InstallHint}");
        var probe = await RunAsync(Python, ["-c", "import dkim, nacl"], "", AppContext.BaseDirectory, check: false);
        if (probe.ExitCode != 0)
            Assert.Fail($"python3-dkim (with python3-nacl) is not installed for {Python}: {InstallHint}\n{probe.Stderr}");
        var script = Path.Combine(AppContext.BaseDirectory, "Dkim", "scripts", "dkimpy_peer.py");
        return (await RunAsync(Python, [script, .. arguments], message, AppContext.BaseDirectory)).Stdout;
    }

    public static async Task<(string Stdout, string Stderr)> MailauthAsync(string message, string recordsJson)
    {
        var node = FindOnPath("node");
        if (node is null)
            Assert.Fail($"node not found on PATH: {InstallHint}");
        var directory = NodeDirectory;
        if (!File.Exists(Path.Combine(directory, "node_modules", "mailauth", "package.json")))
            Assert.Fail($"npm module mailauth is not installed in {directory}: {InstallHint} (npm ci --prefix tests/Hermod.Policy.Tests/Dkim/node)");
        var run = await RunAsync(node!, [Path.Combine(directory, "verify.js"), recordsJson], message, directory);
        return (run.Stdout, run.Stderr);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, string[] arguments, string input,
        string workingDirectory, bool check = true)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.StandardInput.BaseStream.WriteAsync(Encoding.Latin1.GetBytes(input), timeout.Token);
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in 60 s");
        }
        var output = await stdout;
        var errors = await stderr;
        if (check && process.ExitCode != 0)
            Assert.Fail($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{errors}");
        return (process.ExitCode, output, errors);
    }

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
