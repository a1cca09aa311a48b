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
/// all on one port, each scripted by its mode:
/// <list type="bullet">
/// <item>at MAIL: accept, tempfail-once, reject, reject553, busy, stall, drop (and slow, no-utf8, otherwise like accept);</item>
/// <item>at the final dot of DATA (MAIL and RCPT accepted): data-tempfail (451 4.3.0), data-reject (554 5.6.0),
/// data-stall (never answered), data-tempfail-once (451 4.3.0 the first time, then accept).</item>
/// </list>
/// On any host, the recipient's local part decides too: reject* gets 550 5.1.1 and tempfail* 451 4.2.0 at RCPT;
/// stallrcpt* is never answered at RCPT; datareject* and datatempfail* are accepted at RCPT, then the final dot gets
/// 554 5.6.0 or 451 4.3.0. The reply to the final dot is one per transaction, so one such recipient refuses the
/// whole transaction (datareject wins over datatempfail; a data-* host mode comes first). Stalls last up to an hour;
/// the client's timeout or disconnect ends them.
/// What each host accepted (<see cref="Received"/>) and what it saw (<see cref="Count"/>: connections, RCPT commands,
/// DATA transactions) are read back per address. See the script's docstring for the exact replies.
/// </summary>
public sealed class FakeMx : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private bool _disposed;

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
        var python = Peers.Python; // no import probe before every start: a missing aiosmtpd shows in the log below
        var script = Peers.Script("scripts/fake_mx.py");
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort(IPAddress.Parse(hosts.Keys.First()));
            var directory = System.IO.Directory.CreateTempSubdirectory("hermod-fakemx-").FullName;
            var start = new ProcessStartInfo(python)
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
                throw new InvalidOperationException($"fake_mx.py did not start (Debian package python3-aiosmtpd missing? {Peers.InstallHint}):\n{fake.Log}");
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

    /// <summary>
    /// Everything <paramref name="address"/> accepted so far (250 to the final dot), in order: envelope and content.
    /// Refused and stalled transactions are never stored; <see cref="DataTransactions"/> counts them.
    /// </summary>
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

    /// <summary>Counter file (under the host's directory) of the connections a host accepted.</summary>
    public const string ConnectionsCounter = "connections";

    /// <summary>Counter file of the RCPT commands a host saw, whatever it answered (refused, stalled and malformed ones too).</summary>
    public const string RcptsCounter = "rcpts";

    /// <summary>
    /// Counter file of the DATA transactions that reached the final dot at a host, whatever it answered (accepted, refused
    /// or stalled). The fake offers no CHUNKING, so clients send DATA, never BDAT.
    /// </summary>
    public const string DatasCounter = "datas";

    /// <summary>Counter file of a "slow" host: the most transactions it had in DATA at once.</summary>
    public const string MaxInDataCounter = "max_in_data";

    /// <summary>
    /// The value of counter <paramref name="counter"/> (<see cref="ConnectionsCounter"/>, <see cref="RcptsCounter"/>,
    /// <see cref="DatasCounter"/>, <see cref="MaxInDataCounter"/>) of <paramref name="address"/>; 0 before its first count.
    /// The script rewrites each counter atomically, before it answers the command counted.
    /// </summary>
    public int Count(string address, string counter)
    {
        var path = Path.Combine(Directory, address, counter);
        return File.Exists(path) ? int.Parse(File.ReadAllText(path), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>For a "slow" host: the most transactions it had in DATA at once.</summary>
    public int MaxInData(string address) => Count(address, MaxInDataCounter);

    /// <summary>How many connections <paramref name="address"/> has accepted.</summary>
    public int Connections(string address) => Count(address, ConnectionsCounter);

    /// <summary>How many RCPT commands <paramref name="address"/> has seen, whatever it answered (stalled ones included).</summary>
    public int RcptCommands(string address) => Count(address, RcptsCounter);

    /// <summary>
    /// How many DATA transactions reached the final dot at <paramref name="address"/>, whatever it answered: accepted
    /// ones (<see cref="Received"/>), refused ones (data-tempfail, data-reject, datareject*, datatempfail*) and stalled ones.
    /// </summary>
    public int DataTransactions(string address) => Count(address, DatasCounter);

    /// <summary>
    /// Waits until counter <paramref name="counter"/> of <paramref name="address"/> reaches <paramref name="count"/> and
    /// returns its value; fails after <paramref name="within"/>. For the commands a host never answers (stalls).
    /// </summary>
    public async Task<int> WaitForCountAsync(string address, string counter, int count, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = Count(address, counter);
            if (value >= count)
                return value;
            if (clock.Elapsed > within)
                throw new TimeoutException($"{address} {counter} is {value}, expected {count}; fake MX log:\n{Log}");
            await Task.Delay(50);
        }
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

    /// <summary>Stops the script (it exits when its stdin closes) and deletes its directory; <see cref="Log"/> stays readable. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
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
