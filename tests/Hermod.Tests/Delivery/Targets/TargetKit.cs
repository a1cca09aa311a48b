using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Hermod.Delivery.Targets;
using Hermod.Delivery.Transport;
using Hermod.TestKit;

namespace Hermod.Tests.Delivery.Targets;

/// <summary>Messages and recipients built by hand for delivery target tests, and a full delivery run.</summary>
internal static class TargetKit
{
    public static readonly DateTimeOffset Created = new(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);

    public static string ScriptPath(string fileName) => Peers.Script($"Delivery/Targets/scripts/{fileName}");

    /// <summary>A message of about <paramref name="size"/> bytes: CRLF lines, some 8-bit bytes, a header block.</summary>
    public static byte[] Content(string subject, int size)
    {
        var text = new StringBuilder();
        text.Append("Received: from client.origin.test\r\nFrom: sender@origin.test\r\nSubject: ").Append(subject).Append("\r\n\r\n");
        for (var line = 0; text.Length < size; line++)
            text.Append("line ").Append(line).Append(" of the body, caf\u00e9 \u2713 -- not a boundary\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>A stored message whose content writer streams <paramref name="content"/> in 8 KiB pieces.</summary>
    public static TargetMessage Message(byte[] content, string domain, params string[] recipients)
    {
        var envelope = new MessageEnvelope($"msg-{Guid.NewGuid():N}", "sender@origin.test",
            [.. recipients.Select(r => new EnvelopeRecipient(r))],
            new MessageSource("inbound", IPAddress.Parse("192.0.2.7"), "client.origin.test", "alice", "TLSv1.3"));
        var stored = new StoredMessage(envelope, content.Length, Created, []);
        return new TargetMessage(stored, domain, async (stream, ct) =>
        {
            for (var offset = 0; offset < content.Length; offset += 8192)
                await stream.WriteAsync(content.AsMemory(offset, Math.Min(8192, content.Length - offset)), ct);
        });
    }

    public static QueuedRecipient Recipient(long id, string address) => new(id, address, DsnNotify.Default, null, 0, false);

    /// <summary>What one delivery run answered: per recipient, the early refusal or the body reply.</summary>
    public sealed record Run(Dictionary<long, UpstreamReply> Refused, TransportResult? Body);

    /// <summary>Start, add each recipient, body (when any was accepted), then commit or abort.</summary>
    public static async Task<Run> DeliverAsync(IDeliveryTarget target, TargetMessage message, IEnumerable<QueuedRecipient> recipients, bool commit = true)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var delivery = await target.StartAsync(message, timeout.Token);
        var refused = new Dictionary<long, UpstreamReply>();
        var accepted = 0;
        foreach (var recipient in recipients)
            if (await delivery.AddRecipientAsync(recipient, timeout.Token) is { } reply)
                refused[recipient.DeliveryId] = reply;
            else
                accepted++;
        if (accepted == 0)
        {
            await delivery.AbortAsync(timeout.Token);
            return new Run(refused, null);
        }
        var body = await delivery.BodyAsync(timeout.Token);
        if (commit)
            await delivery.CommitAsync(timeout.Token);
        else
            await delivery.AbortAsync(timeout.Token);
        return new Run(refused, body);
    }
}

/// <summary>What the receiver saved for one request.</summary>
internal sealed record HttpReceived(JsonElement Request, byte[] Envelope, byte[] Message)
{
    public string Header(string name) => Request.GetProperty("headers").TryGetProperty(name.ToLowerInvariant(), out var v) ? v.GetString()! : "";
}

/// <summary>
/// scripts/http_receiver.py: a real HTTP server (Python's http.server) on 127.0.0.1, port 0, answering each request with
/// the next of its scripted statuses ("stall": never); saves what it received. Killed on dispose.
/// </summary>
internal sealed class HttpReceiver : IAsyncDisposable
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
        foreach (var arg in new[] { TargetKit.ScriptPath("http_receiver.py"), directory, statuses })
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
