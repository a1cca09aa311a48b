using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hermod.Dns;

namespace Hermod.TestKit;

/// <summary>
/// A real dnsmasq (Debian package dnsmasq-base) on 127.0.0.1 and a free port, serving the records given as dnsmasq
/// options (--mx-host=..., --host-record=...). A missing binary fails the test (<see cref="Peers"/>). Names under the
/// <c>--local</c> domains that are not configured are NXDOMAIN.
/// </summary>
public sealed class Dnsmasq : IAsyncDisposable
{
    private readonly StringBuilder _log = new();
    private Process? _process;

    private Dnsmasq()
    {
    }

    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    /// <summary>Starts dnsmasq with <paramref name="records"/> and waits until <paramref name="probe"/> (a name it serves MX or A for) answers.</summary>
    public static async Task<Dnsmasq> StartAsync(IEnumerable<string> records, string probe, DnsRecordType probeType = DnsRecordType.MX)
    {
        var dnsmasq = new Dnsmasq();
        var binary = Peers.Find("dnsmasq", "/usr/sbin/dnsmasq", "dnsmasq-base");
        string[] options = [.. records];
        for (var attempt = 0; attempt < 5; attempt++)
        {
            dnsmasq.EndPoint = new IPEndPoint(IPAddress.Loopback, FreeUdpPort());
            dnsmasq._process = dnsmasq.Start(binary, dnsmasq.EndPoint.Port, options);
            if (await dnsmasq.AnswersAsync(probe, probeType, TimeSpan.FromSeconds(10)))
                return dnsmasq;
            await dnsmasq.DisposeAsync(); // most likely the port was taken meanwhile (TCP or UDP): try another one
        }
        throw new InvalidOperationException($"dnsmasq did not start answering on 127.0.0.1; its output:\n{dnsmasq.Log}");
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private Process Start(string binary, int port, string[] records)
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
            .. records,
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

    private async Task<bool> AnswersAsync(string probe, DnsRecordType type, TimeSpan within)
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
            if ((await resolver.QueryAsync(probe, type)).Status == DnsStatus.Ok)
                return true;
            await Task.Delay(50);
        }
        return false;
    }

    public async ValueTask DisposeAsync()
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
