using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hermod.Dns.Tests.Interop;

/// <summary>
/// A real dnsmasq (Debian package dnsmasq-base) on 127.0.0.1 and a free port, serving example.test. A missing binary
/// fails the tests (PEERS.md): a skipped interop test would look like a passing one. The process is killed when the
/// test class ends, whatever happened.
/// </summary>
public sealed class DnsmasqFixture : IAsyncLifetime
{
    public const string DebianPath = "/usr/sbin/dnsmasq";

    /// <summary>Eight 250-octet strings: more than the 1232 octets we accept over UDP, so dnsmasq truncates.</summary>
    public static readonly string[] BigTxt = [.. Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 250))];

    private readonly StringBuilder _log = new();
    private Process? _process;

    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public async Task InitializeAsync()
    {
        var binary = FindBinary();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, FreeUdpPort());
            _process = Start(binary, EndPoint.Port);
            if (await AnswersAsync(TimeSpan.FromSeconds(10)))
                return;
            await StopAsync(); // most likely the port was taken meanwhile (TCP or UDP): try another one
        }
        throw new InvalidOperationException($"dnsmasq did not start answering on 127.0.0.1; its output:\n{Log}");
    }

    public Task DisposeAsync() => StopAsync();

    private static string FindBinary()
    {
        if (File.Exists(DebianPath))
            return DebianPath;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "dnsmasq");
            if (File.Exists(candidate))
                return candidate;
        }
        throw new InvalidOperationException($"dnsmasq not found at {DebianPath} nor on PATH: install the Debian package dnsmasq-base (./test.sh installs peers)");
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private Process Start(string binary, int port)
    {
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            "-k", $"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
            "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--log-facility=-",
            // Names under example.test that are not configured are NXDOMAIN (not REFUSED: there is no upstream).
            "--local=/example.test/",
            "--mx-host=example.test,mx1.example.test,10",
            "--mx-host=example.test,mx2.example.test,20",
            "--host-record=mx1.example.test,127.0.0.2",
            "--host-record=mx2.example.test,127.0.0.3,::1",
            "--txt-record=example.test,v=spf1 -all",
            $"--txt-record=big.example.test,{string.Join(',', BigTxt)}",
            "--ptr-record=2.0.0.127.in-addr.arpa,mx1.example.test",
            "--cname=alias.example.test,mx1.example.test",
        ];
        if (Environment.UserName == "root")
            args = [.. args, "--user=root"];
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
            _log.AppendLine(line);
    }

    private async Task<bool> AnswersAsync(TimeSpan within)
    {
        using var resolver = new StubResolver(new DnsOptions
        {
            Servers = [EndPoint],
            Timeout = TimeSpan.FromMilliseconds(200),
            Attempts = 1,
            MaxCacheEntries = 0,
        });
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < within && _process is { HasExited: false })
        {
            if ((await resolver.QueryAsync("example.test", DnsRecordType.MX)).Status == DnsStatus.Ok)
                return true;
            await Task.Delay(50);
        }
        return false;
    }

    private async Task StopAsync()
    {
        if (_process is null)
            return;
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            // already gone, or it would not die: nothing more to do
        }
        _process.Dispose();
        _process = null;
    }
}
