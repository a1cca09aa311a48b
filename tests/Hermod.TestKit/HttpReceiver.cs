using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Hermod.TestKit;

/// <summary>
/// scripts/http_receiver.py: a real HTTP server (Python's http.server) on 127.0.0.1, port 0, answering each request with
/// the next of its scripted statuses ("stall": never); saves what it received. Killed on dispose.
/// </summary>
public sealed class HttpReceiver : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private HttpReceiver(Process process, string directory)
    {
        _process = process;
        Directory = directory;
    }

    public string Directory { get; }

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}/deliver?target=test";

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public static async Task<HttpReceiver> StartAsync(string statuses)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("hermod-http-target-").FullName;
        var start = new ProcessStartInfo(Peers.Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Peers.Script("scripts/http_receiver.py"), directory, statuses })
            start.ArgumentList.Add(arg);
        var receiver = new HttpReceiver(Process.Start(start)!, directory);
        receiver._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (receiver._log)
                    receiver._log.AppendLine(e.Data);
        };
        receiver._process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var line = await receiver._process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null || !line.StartsWith("PORT ", StringComparison.Ordinal))
                throw new InvalidOperationException($"http_receiver.py did not start: {line}\n{receiver.Log}");
            receiver.Port = int.Parse(line[5..], System.Globalization.CultureInfo.InvariantCulture);
            return receiver;
        }
        catch
        {
            await receiver.DisposeAsync();
            throw;
        }
    }

    /// <summary>Request <paramref name="n"/> (from 1), once the receiver has saved it; fails after 10 s.</summary>
    public async Task<HttpReceived> ReceivedAsync(int n)
    {
        var request = Path.Combine(Directory, $"{n}.request.json");
        await WaitForAsync(request, $"saved no request {n}");
        static byte[] Read(string path) => File.Exists(path) ? File.ReadAllBytes(path) : [];
        using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(request));
        return new HttpReceived(json.RootElement.Clone(), Read(Path.Combine(Directory, $"{n}.envelope.json")), Read(Path.Combine(Directory, $"{n}.message.eml")));
    }

    /// <summary>Waits until request <paramref name="n"/> (from 1) has arrived (its header was read); fails after 10 s.</summary>
    public Task ArrivedAsync(int n) => WaitForAsync(Path.Combine(Directory, $"{n}.arrived"), $"got no request {n}");

    private async Task WaitForAsync(string path, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
                throw new TimeoutException($"the receiver {failure}; its log:\n{Log}");
            await Task.Delay(20);
        }
    }

    public int RequestCount => System.IO.Directory.GetFiles(Directory, "*.request.json").Length;

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
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
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
}

/// <summary>What the receiver saved for one request.</summary>
public sealed record HttpReceived(JsonElement Request, byte[] Envelope, byte[] Message)
{
    public string Header(string name) => Request.GetProperty("headers").TryGetProperty(name.ToLowerInvariant(), out var v) ? v.GetString()! : "";
}
