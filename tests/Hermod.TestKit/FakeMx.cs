using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Hermod.TestKit;

/// <summary>A message a fake MX host accepted: envelope and content as received (dot-stuffing removed).</summary>
public sealed record ReceivedMessage(string MailFrom, IReadOnlyList<string> Recipients, IReadOnlyList<string> MailOptions, IReadOnlyList<string> RcptOptions, byte[] Content)
{
    public string Text => Encoding.UTF8.GetString(Content);
}

/// <summary>
/// Fake MX hosts (scripts/fake_mx.py on aiosmtpd, a real SMTP server no one here wrote), one per loopback address,
/// all on one port, each scripted: accept, tempfail-once, reject, reject553, busy, slow, stall, drop, no-utf8. Recipients named reject* or
/// tempfail* are refused on any host. What each host accepted is read back per address.
/// </summary>
public sealed class FakeMx : IAsyncDisposable
{
    public const string Python = "/usr/bin/python3";

    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private FakeMx(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Directory { get; }

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    /// <summary>Starts the hosts: address → mode.</summary>
    public static async Task<FakeMx> StartAsync(IReadOnlyDictionary<string, string> hosts)
    {
        if (!File.Exists(Python))
            throw new InvalidOperationException($"{Python} not found: install Debian's python3 and python3-aiosmtpd (./test.sh installs peers)");
        var script = Path.Combine(AppContext.BaseDirectory, "scripts", "fake_mx.py");
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort(IPAddress.Parse(hosts.Keys.First()));
            var directory = System.IO.Directory.CreateTempSubdirectory("hermod-fakemx-").FullName;
            var start = new ProcessStartInfo(Python)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { script, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", directory }
                         .Concat(hosts.Select(h => $"{h.Key}={h.Value}")))
                start.ArgumentList.Add(arg);
            var process = Process.Start(start)!;
            var fake = new FakeMx(process, port, directory);
            process.ErrorDataReceived += (_, e) => fake.Append(e.Data);
            process.BeginErrorReadLine();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var ready = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (ready == "READY")
                return fake;
            await fake.DisposeAsync();
            if (attempt == 3 || !fake.Log.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"fake_mx.py did not start (python3-aiosmtpd installed?):\n{fake.Log}");
        }
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
            _log.AppendLine(line);
    }

    /// <summary>Everything <paramref name="address"/> accepted so far, in order.</summary>
    public IReadOnlyList<ReceivedMessage> Received(string address)
    {
        var dir = Path.Combine(Directory, address);
        if (!System.IO.Directory.Exists(dir))
            return [];
        var result = new List<ReceivedMessage>();
        for (var n = 1; File.Exists(Path.Combine(dir, $"{n}.json")); n++)
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, $"{n}.json")));
            var root = json.RootElement;
            static List<string> Strings(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetString()!)];
            result.Add(new ReceivedMessage(root.GetProperty("mail_from").GetString()!, Strings(root.GetProperty("rcpt_tos")),
                Strings(root.GetProperty("mail_options")), Strings(root.GetProperty("rcpt_options")), File.ReadAllBytes(Path.Combine(dir, $"{n}.eml"))));
        }
        return result;
    }

    /// <summary>For a "slow" host: the most transactions it had in DATA at once.</summary>
    public int MaxInData(string address)
    {
        var path = Path.Combine(Directory, address, "max_in_data");
        return File.Exists(path) ? int.Parse(File.ReadAllText(path), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>How many connections <paramref name="address"/> has accepted.</summary>
    public int Connections(string address)
    {
        var path = Path.Combine(Directory, address, "connections");
        return File.Exists(path) ? int.Parse(File.ReadAllText(path), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Waits until <paramref name="address"/> has accepted <paramref name="count"/> messages; fails after <paramref name="within"/>.</summary>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForAsync(string address, int count, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var received = Received(address);
            if (received.Count >= count)
                return received;
            if (clock.Elapsed > within)
                throw new TimeoutException($"{address} received {received.Count} message(s), expected {count}; fake MX log:\n{Log}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close(); // the script exits when its stdin closes
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
