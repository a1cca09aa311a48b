using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hermod.TestKit;

namespace Hermod.Smtp.Tests.Client;

/// <summary>
/// Helpers for the client's interop tests against real SMTP servers no one here wrote (<see cref="SmtpSinkPeer"/>,
/// <see cref="AiosmtpdPeer"/>); a missing peer fails the test (<see cref="Peers"/>).
/// </summary>
internal static class ClientPeers
{
    /// <summary>A helper script from Client/scripts, copied next to the test assembly.</summary>
    public static string Script(string fileName) => Peers.Script($"Client/scripts/{fileName}");

    /// <summary>A port that was free a moment ago on 127.0.0.1 (for peers that cannot be told to pick one).</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public static string TempDirectory(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"hermod-{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>A peer process: stderr (and stdout unless read by the owner) captured, killed with its tree on dispose.</summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stderrPump;

    private PeerProcess(Process process)
    {
        _process = process;
        _stderrPump = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int n;
            while ((n = await process.StandardError.ReadAsync(buffer)) > 0)
                lock (_stderr)
                    if (_stderr.Length < 64 * 1024)
                        _stderr.Append(buffer, 0, n);
        });
    }

    public static PeerProcess Start(string fileName, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        return new PeerProcess(Process.Start(start) ?? throw new InvalidOperationException($"cannot start {fileName}"));
    }

    public Process Process => _process;

    public bool HasExited => _process.HasExited;

    public string Stderr
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }

    public string Describe() =>
        $"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)} " +
        $"({(_process.HasExited ? $"exited with {_process.ExitCode}" : "running")})\n--- stderr ---\n{Stderr}";

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close(); // aiosmtpd_server.py exits on EOF; others are killed below
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await _stderrPump.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            // already gone
        }
        _process.Dispose();
    }
}

/// <summary>
/// Postfix smtp-sink on 127.0.0.1 with every transaction dumped to a directory (-d). Extra flags inject faults
/// (-r / -f commands refused with 4xx / 5xx, -Q commands answered 421 and disconnected).
/// </summary>
internal sealed class SmtpSinkPeer : IAsyncDisposable
{
    private readonly PeerProcess _process;

    private SmtpSinkPeer(PeerProcess process, IPEndPoint endPoint, string directory)
    {
        _process = process;
        EndPoint = endPoint;
        Directory = directory;
    }

    public IPEndPoint EndPoint { get; }

    public string Directory { get; }

    public static async Task<SmtpSinkPeer> StartAsync(params string[] flags)
    {
        var sink = Peers.SmtpSink;
        var dir = ClientPeers.TempDirectory("sink");
        if (Environment.IsPrivilegedProcess && !OperatingSystem.IsWindows())
            File.SetUnixFileMode(dir, (UnixFileMode)0x1FF); // smtp-sink drops root for nobody, who writes the dumps
        for (var attempt = 1; ; attempt++)
        {
            var port = ClientPeers.FreePort();
            var args = new List<string>();
            if (Environment.IsPrivilegedProcess)
                args.AddRange(["-u", "nobody"]);
            args.AddRange(["-4", "-t", "30", "-d", dir + "/msg."]);
            args.AddRange(flags);
            args.AddRange([$"127.0.0.1:{port}", "16"]);
            var process = PeerProcess.Start(sink, args);
            var endPoint = new IPEndPoint(IPAddress.Loopback, port);
            if (await WaitUntilListeningAsync(process, endPoint))
                return new SmtpSinkPeer(process, endPoint, dir);
            var why = process.Describe();
            await process.DisposeAsync();
            if (attempt == 5)
            {
                System.IO.Directory.Delete(dir, recursive: true);
                Assert.Fail($"smtp-sink did not start: {why}");
            }
        }
    }

    private static async Task<bool> WaitUntilListeningAsync(PeerProcess process, IPEndPoint endPoint)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
                return false; // the port was taken in between: try another
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(endPoint);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        return false;
    }

    /// <summary>The dumps written so far, oldest first, waiting up to 10 s for <paramref name="count"/> of them.</summary>
    public async Task<IReadOnlyList<SinkDump>> DumpsAsync(int count)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var files = System.IO.Directory.GetFiles(Directory, "msg.*");
            if (files.Length >= count || watch.Elapsed > TimeSpan.FromSeconds(10))
            {
                Assert.True(files.Length == count, $"expected {count} dumps from smtp-sink, found {files.Length}\n{_process.Describe()}");
                return files.OrderBy(File.GetLastWriteTimeUtc).Select(f => SinkDump.Parse(File.ReadAllBytes(f))).ToArray();
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a temp directory left behind is no failure
        }
    }
}

/// <summary>One smtp-sink dump: its X- headers and the content (as the sink writes it: LF line endings, un-stuffed).</summary>
internal sealed record SinkDump(string MailArgs, IReadOnlyList<string> RcptArgs, byte[] Content)
{
    public static SinkDump Parse(byte[] file)
    {
        var mail = "";
        var rcpts = new List<string>();
        var pos = 0;
        var inReceived = false;
        while (pos < file.Length)
        {
            var lf = Array.IndexOf(file, (byte)'\n', pos);
            Assert.True(lf >= 0, "smtp-sink dump ends inside its own header");
            var line = Encoding.UTF8.GetString(file, pos, lf - pos);
            if (inReceived && !line.StartsWith('\t'))
                break; // the content starts here
            pos = lf + 1;
            if (line.StartsWith("X-Mail-Args: ", StringComparison.Ordinal))
                mail = line["X-Mail-Args: ".Length..];
            else if (line.StartsWith("X-Rcpt-Args: ", StringComparison.Ordinal))
                rcpts.Add(line["X-Rcpt-Args: ".Length..]);
            else if (line.StartsWith("Received: ", StringComparison.Ordinal))
                inReceived = true;
        }
        return new SinkDump(mail, rcpts, file[pos..]);
    }
}

/// <summary>aiosmtpd (scripts/aiosmtpd_server.py) on 127.0.0.1, port chosen by the kernel; messages recorded to a directory.</summary>
internal sealed class AiosmtpdPeer : IAsyncDisposable
{
    private readonly PeerProcess _process;

    private AiosmtpdPeer(PeerProcess process, IPEndPoint endPoint, string directory)
    {
        _process = process;
        EndPoint = endPoint;
        Directory = directory;
    }

    public IPEndPoint EndPoint { get; }

    public string Directory { get; }

    public static async Task<AiosmtpdPeer> StartAsync(params string[] extraArgs)
    {
        var python = await Peers.PythonWithAsync("aiosmtpd.smtp", "python3-aiosmtpd");
        var dir = ClientPeers.TempDirectory("aiosmtpd");
        var process = PeerProcess.Start(python, [ClientPeers.Script("aiosmtpd_server.py"), "--dir", dir, .. extraArgs]);
        try
        {
            var line = await process.Process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(line is not null && line.StartsWith("PORT ", StringComparison.Ordinal), $"aiosmtpd did not start: {line}\n{process.Describe()}");
            var port = int.Parse(line![5..], System.Globalization.CultureInfo.InvariantCulture);
            return new AiosmtpdPeer(process, new IPEndPoint(IPAddress.Loopback, port), dir);
        }
        catch
        {
            await process.DisposeAsync();
            System.IO.Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>Message <paramref name="n"/> (1-based): its envelope as JSON and its content.</summary>
    public async Task<(System.Text.Json.JsonElement Envelope, byte[] Content)> MessageAsync(int n)
    {
        var json = Path.Combine(Directory, $"{n}.json");
        var watch = Stopwatch.StartNew();
        while (!File.Exists(json))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"aiosmtpd recorded no message {n}\n{_process.Describe()}");
            await Task.Delay(50);
        }
        using var document = System.Text.Json.JsonDocument.Parse(await File.ReadAllBytesAsync(json));
        return (document.RootElement.Clone(), await File.ReadAllBytesAsync(Path.Combine(Directory, $"{n}.eml")));
    }

    public int MessageCount => System.IO.Directory.GetFiles(Directory, "*.json").Length;

    public string Describe() => _process.Describe();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // left behind in /tmp
        }
    }
}
