using System.Text;
using Hermod.Dns;
using Hermod.TestKit;

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
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

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
        await Peers.PythonWithAsync("dkim", "python3-dkim");
        var python = await Peers.PythonWithAsync("nacl", "python3-nacl");
        var run = await Peers.RunAsync(python, [Peers.Script("Dkim/scripts/dkimpy_peer.py"), .. arguments], Timeout,
            Encoding.Latin1.GetBytes(message), AppContext.BaseDirectory);
        Assert.True(run.ExitCode == 0, $"dkimpy_peer.py {string.Join(' ', arguments)}: {run.Describe()}");
        return run.Stdout;
    }

    public static async Task<(string Stdout, string Stderr)> MailauthAsync(string message, string recordsJson)
    {
        var directory = NodeDirectory;
        var node = Peers.NodeWith(directory, "mailauth");
        var run = await Peers.RunAsync(node, [Path.Combine(directory, "verify.js"), recordsJson], Timeout, Encoding.Latin1.GetBytes(message), directory);
        Assert.True(run.ExitCode == 0, $"mailauth verify.js: {run.Describe()}");
        return (run.Stdout, run.Stderr);
    }
}
