using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Hermod.TestKit;

/// <summary>A raw SMTP client for transcript tests: send bytes or lines, expect replies matching a pattern.</summary>
public sealed class SmtpTranscript : SmtpDialogue, IAsyncDisposable
{
    private readonly TcpClient _client;
    private Stream _stream;
    private readonly List<byte> _pending = [];
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(15);

    private SmtpTranscript(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<SmtpTranscript> ConnectAsync(IPEndPoint endPoint, bool implicitTls = false)
    {
        var client = new TcpClient();
        await client.ConnectAsync(endPoint);
        var transcript = new SmtpTranscript(client);
        if (implicitTls)
            await transcript.UpgradeAsync();
        return transcript;
    }

    public async Task UpgradeAsync()
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("mx.example.test").WaitAsync(ReplyTimeout);
        _stream = tls;
        _pending.Clear();
    }

    public SslStream? Tls => _stream as SslStream;

    public override async Task SendRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>True when the server closed the connection (reads return 0) within the timeout.</summary>
    public async Task<bool> IsClosedAsync(TimeSpan? within = null)
    {
        var buffer = new byte[256];
        using var cts = new CancellationTokenSource(within ?? ReplyTimeout);
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                    return true;
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    protected override async Task<string> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(ReplyTimeout);
        var buffer = new byte[1];
        while (true)
        {
            var lf = _pending.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, lf).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, lf + 1);
                return line;
            }
            var chunk = new byte[4096];
            var n = await _stream.ReadAsync(chunk, cts.Token);
            if (n == 0)
                throw new IOException("connection closed by server; pending: " + Encoding.UTF8.GetString(_pending.ToArray()));
            _pending.AddRange(chunk.AsSpan(0, n).ToArray());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }
}
