using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Hermod.Smtp.Tests.Client;

/// <summary>
/// A scripted SMTP server for client tests: listens on 127.0.0.1:0, accepts connections one after another and
/// runs the test's script against each (expect this command, send that reply). A script that fails closes
/// its connection (so the client does not wait) and the failure surfaces from <see cref="Completion"/>.
/// </summary>
internal sealed class FakeSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private volatile FakeSmtpSession? _current;
    private volatile bool _disposing;
    private Exception? _failure;

    private FakeSmtpServer(Func<FakeSmtpSession, Task>[] scripts)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        EndPoint = (IPEndPoint)_listener.LocalEndpoint;
        Completion = RunAsync(scripts);
    }

    /// <summary>Starts a server whose n-th connection runs the n-th script.</summary>
    public static FakeSmtpServer Start(params Func<FakeSmtpSession, Task>[] scripts) => new(scripts);

    public IPEndPoint EndPoint { get; }

    /// <summary>Completes when every script has run; faults with the first script failure.</summary>
    public Task Completion { get; }

    private async Task RunAsync(Func<FakeSmtpSession, Task>[] scripts)
    {
        foreach (var script in scripts)
        {
            using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            client.NoDelay = true;
            var session = new FakeSmtpSession(client.GetStream(), client.Client);
            _current = session;
            try
            {
                await script(session);
            }
            catch (Exception e) when (!_disposing)
            {
                _failure ??= e;
                throw;
            }
            finally
            {
                _current = null;
                await session.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Ends any session still running, then rethrows a script failure that happened before (a protocol mismatch
    /// the client may only have seen as a closed connection): the server's assertion says more than the client's.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        _stop.Cancel();
        _listener.Stop();
        if (_current is { } session)
            await session.DisposeAsync();
        try
        {
            await Completion.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // reported below when it was a real script failure
        }
        _stop.Dispose();
        if (_failure is not null)
            throw new InvalidOperationException($"fake SMTP server script failed: {_failure.Message}", _failure);
    }
}

/// <summary>One connection of a <see cref="FakeSmtpServer"/>: line and byte reads with a timeout, raw writes.</summary>
internal sealed class FakeSmtpSession : IAsyncDisposable
{
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private Stream _stream;
    private SslStream? _tls;
    private readonly byte[] _buffer = new byte[256 * 1024];
    private int _start;
    private int _end;

    public FakeSmtpSession(Stream stream, Socket socket)
    {
        _stream = stream;
        _socket = socket;
    }

    /// <summary>Every command line received, in order (content excluded).</summary>
    public List<string> Commands { get; } = [];

    /// <summary>Octets received but not read by the script yet.</summary>
    public int Buffered => _end - _start;

    /// <summary>Socket reads that returned data.</summary>
    public int Reads { get; private set; }

    /// <summary>Sends reply lines, each followed by CRLF.</summary>
    public async Task ReplyAsync(params string[] lines)
    {
        var text = string.Concat(lines.Select(l => l + "\r\n"));
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await _stream.FlushAsync();
    }

    /// <summary>Sends bytes exactly as given.</summary>
    public async Task SendRawAsync(string text)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await _stream.FlushAsync();
    }

    /// <summary>220 greeting, then EHLO answered with these extensions.</summary>
    public async Task GreetAsync(params string[] extensions)
    {
        await ReplyAsync("220 fake.test ESMTP");
        await ExpectAsync("EHLO client.test");
        await EhloReplyAsync(extensions);
    }

    /// <summary>
    /// The opening most client tests share: greets with PIPELINING, takes MAIL FROM:&lt;a@example.test&gt;,
    /// RCPT TO:&lt;b@example.test&gt; and DATA as one pipelined group and answers them 250, 250, 354.
    /// </summary>
    public async Task OpenTransactionAsync()
    {
        await GreetAsync("PIPELINING");
        await ExpectPipelinedAsync("MAIL FROM:<a@example.test>", ["b@example.test"], "250 OK", "250 OK", "354 go");
    }

    /// <summary>
    /// The opening without PIPELINING: greets with <paramref name="extensions"/>, then takes MAIL FROM:&lt;a@example.test&gt;
    /// and RCPT TO:&lt;b@example.test&gt; one at a time, answering each 250 OK.
    /// </summary>
    public async Task OpenEnvelopeAsync(params string[] extensions)
    {
        await GreetAsync(extensions);
        await ExpectAsync("MAIL FROM:<a@example.test>", "250 OK");
        await ExpectAsync("RCPT TO:<b@example.test>", "250 OK");
    }

    /// <summary>
    /// A pipelined transaction's group: the <paramref name="mail"/> line, RCPT TO for each of <paramref name="recipients"/>
    /// and DATA, all read before anything is answered; then <paramref name="replies"/> in one write.
    /// </summary>
    public async Task ExpectPipelinedAsync(string mail, string[] recipients, params string[] replies)
    {
        await ExpectAsync(mail);
        foreach (var recipient in recipients)
            await ExpectAsync($"RCPT TO:<{recipient}>");
        await ExpectAsync("DATA");
        await ReplyAsync(replies);
    }

    /// <summary>QUIT answered 221, then the client's close.</summary>
    public async Task QuitAsync()
    {
        await ExpectAsync("QUIT", "221 2.0.0 Bye");
        await WaitForCloseAsync();
    }

    public Task EhloReplyAsync(params string[] extensions)
    {
        string[] lines = ["fake.test Hello", .. extensions];
        return ReplyAsync(lines.Select((l, i) => (i == lines.Length - 1 ? "250 " : "250-") + l).ToArray());
    }

    public async Task<string> ReadLineAsync()
    {
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(_buffer, _start, lf - _start).TrimEnd('\r');
                _start = lf + 1;
                Commands.Add(line);
                return line;
            }
            if (!await FillAsync())
                throw new EndOfStreamException($"client closed the connection; unread: \"{Encoding.UTF8.GetString(_buffer, _start, _end - _start)}\"");
        }
    }

    public async Task ExpectAsync(string expected) => Assert.Equal(expected, await ReadLineAsync());

    public async Task ExpectAsync(string expected, string reply)
    {
        await ExpectAsync(expected);
        await ReplyAsync(reply);
    }

    /// <summary>Exactly <paramref name="count"/> octets.</summary>
    public async Task<byte[]> ReadExactAsync(int count)
    {
        var result = new byte[count];
        var got = 0;
        while (got < count)
        {
            if (_start == _end && !await FillAsync())
                throw new EndOfStreamException($"client closed the connection after {got} of {count} octets");
            var n = Math.Min(count - got, _end - _start);
            Array.Copy(_buffer, _start, result, got, n);
            _start += n;
            got += n;
        }
        return result;
    }

    /// <summary>DATA content as it came over the wire, up to and including CRLF "." CRLF (or "." CRLF at the start).</summary>
    public async Task<byte[]> ReadDataAsync()
    {
        var data = new MemoryStream();
        while (true)
        {
            if (_start == _end && !await FillAsync())
                throw new EndOfStreamException($"client closed the connection after {data.Length} octets of DATA");
            data.WriteByte(_buffer[_start++]);
            var bytes = data.GetBuffer().AsSpan(0, (int)data.Length);
            if (bytes.SequenceEqual(".\r\n"u8) || bytes.EndsWith("\r\n.\r\n"u8))
                return data.ToArray();
        }
    }

    /// <summary>A BDAT command line: its size and whether it is LAST.</summary>
    public async Task<(int Size, bool Last)> ExpectBdatAsync()
    {
        var line = await ReadLineAsync();
        var parts = line.Split(' ');
        Assert.True(parts.Length is 2 or 3 && parts[0] == "BDAT", $"expected BDAT, got \"{line}\"");
        Assert.True(parts.Length == 2 || parts[2] == "LAST", $"bad BDAT line \"{line}\"");
        return (int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts.Length == 3);
    }

    /// <summary>Answers 220 to STARTTLS and runs the server side of the handshake.</summary>
    public async Task StartTlsAsync(X509Certificate2 certificate)
    {
        await ExpectAsync("STARTTLS", "220 2.0.0 Ready to start TLS");
        Assert.Equal(0, Buffered);
        _tls = new SslStream(_stream, leaveInnerStreamOpen: true);
        using var timeout = new CancellationTokenSource(ReadTimeout);
        await _tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, timeout.Token);
        _stream = _tls;
    }

    /// <summary>True once the client has closed its side (any further bytes are ignored).</summary>
    public async Task<bool> WaitForCloseAsync()
    {
        try
        {
            _start = _end;
            while (await FillAsync())
                _start = _end;
            return true;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Closes with a TCP reset, as a crashing server would.</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    /// <summary>Sits silent until the client gives up (closes) or <paramref name="max"/> passes.</summary>
    public async Task StallAsync(TimeSpan max)
    {
        using var cts = new CancellationTokenSource(max);
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(new byte[4096], cts.Token);
                if (n == 0)
                    return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }

    private async Task<bool> FillAsync()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            throw new InvalidOperationException("fake server buffer full");
        using var timeout = new CancellationTokenSource(ReadTimeout);
        int n;
        try
        {
            n = await _stream.ReadAsync(_buffer.AsMemory(_end), timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"fake server: nothing from the client within {ReadTimeout}; buffered \"{Encoding.UTF8.GetString(_buffer, _start, _end - _start)}\"");
        }
        if (n == 0)
            return false;
        Reads++;
        _end += n;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_tls is not null)
            await _tls.DisposeAsync();
        _socket.Dispose();
    }

}

/// <summary>A self-signed certificate for "fake.test" / localhost, made once per test run.</summary>
internal static class TestCertificate
{
    private static readonly Lazy<X509Certificate2> Instance = new(Create);

    public static X509Certificate2 Value => Instance.Value;

    private static X509Certificate2 Create()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=fake.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("fake.test");
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        // Through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes the certificate and its key as PEM files (for peers such as aiosmtpd).</summary>
    public static (string Certificate, string Key) WritePem(string directory)
    {
        var cert = Path.Combine(directory, "cert.pem");
        var key = Path.Combine(directory, "key.pem");
        File.WriteAllText(cert, Value.ExportCertificatePem());
        using var rsa = Value.GetRSAPrivateKey()!;
        File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }
}
