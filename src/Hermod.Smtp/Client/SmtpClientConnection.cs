using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using static Hermod.Smtp.Client.SmtpClientReplies;

namespace Hermod.Smtp.Client;

/// <summary>
/// One outbound SMTP connection (RFC 5321 client side): greeting, EHLO (HELO fallback), STARTTLS, AUTH, then any
/// number of mail transactions (<see cref="SendAsync"/>, with <see cref="ResetAsync"/> in between if wanted) and
/// <see cref="QuitAsync"/>. One operation at a time.
/// <para>
/// A transaction can also go step by step, each reply read before the next command (cut-through):
/// <see cref="MailAsync(SmtpOutboundMessage, EnvelopeRecipient?, CancellationToken)"/> (with the first recipient in the
/// same round trip under PIPELINING), <see cref="RcptAsync"/> per further recipient, optionally
/// <see cref="OpenDataAsync"/> ahead of the content, then <see cref="ContentAsync"/> — or
/// <see cref="ResetAsync"/> to abort. While such a transaction is open, <see cref="SendAsync"/> and
/// <c>MailAsync</c> throw <see cref="InvalidOperationException"/>.
/// </para>
/// <para>
/// Errors: every reply of the server, whatever its code, comes back as a value — <see cref="SmtpConnectResult"/>
/// from <see cref="ConnectAsync"/>, <see cref="SmtpTransactionResult"/> from <see cref="SendAsync"/>, the reply
/// itself from <see cref="ResetAsync"/>. When the conversation itself breaks (connect refused, timeout, connection
/// closed or reset, TLS handshake failure, a malformed reply) the method throws <see cref="SmtpClientException"/>,
/// always transient. Cancellation through the token throws <see cref="OperationCanceledException"/>. A content
/// source that throws has its exception passed through. After a 421, an exception, a cancellation or QUIT the
/// connection is no longer usable (<see cref="IsUsable"/>) and should be disposed.
/// </para>
/// <para>
/// This part holds the state, the session up to the first MAIL (greeting, EHLO, STARTTLS, AUTH), the one-at-a-time
/// rule, QUIT and dispose; the whole transaction, its steps and the I/O each have a part of their own.
/// </para>
/// </summary>
public sealed partial class SmtpClientConnection : IAsyncDisposable
{
    private static readonly TimeSpan BestEffortQuit = TimeSpan.FromSeconds(10);

    private readonly NetworkStream _network;
    private readonly SmtpClientOptions _options;
    private readonly SmtpClientTranscript _transcript;
    private readonly ArrayBufferWriter<byte> _out = new(512);
    private Stream _stream;
    private SslStream? _tls;
    private PipeReader _reader;
    private SmtpReply? _lastReply;
    private SmtpClientException? _failure;
    private bool _broken;
    private bool _disposed;
    private int _busy;
    private bool _stepOpen;     // MailAsync got a 2xx; the transaction ends with ContentAsync or ResetAsync
    private bool _stepUtf8;     // that MAIL carried SMTPUTF8
    private bool _stepAccepted; // a RcptAsync of it got a 2xx
    private SmtpReply? _dataReply; // DATA went ahead of the content (OpenDataAsync): its reply, for ContentAsync

    private SmtpClientConnection(Socket socket, IPEndPoint remote, string serverName, SmtpClientOptions options, SmtpClientTranscript transcript)
    {
        _network = new NetworkStream(socket, ownsSocket: true);
        _stream = _network;
        _reader = CreateReader(_network);
        _options = options;
        _transcript = transcript;
        RemoteEndPoint = remote;
        ServerName = serverName;
    }

    public IPEndPoint RemoteEndPoint { get; }

    /// <summary>The name the connection was opened for: SNI and, under <see cref="TlsPolicy.Required"/>, the name the certificate must match.</summary>
    public string ServerName { get; }

    /// <summary>The server's 220 greeting.</summary>
    public SmtpReply? Greeting { get; private set; }

    /// <summary>The extensions of the last EHLO reply (after STARTTLS, the one over TLS).</summary>
    public SmtpCapabilities Capabilities { get; private set; } = SmtpCapabilities.None;

    public bool IsTls => _tls is not null;

    /// <summary>The TLS version in use, or null.</summary>
    public SslProtocols? TlsProtocol => _tls?.SslProtocol;

    public bool IsAuthenticated { get; private set; }

    /// <summary>Messages the server accepted on this connection (final 2xx).</summary>
    public int MessagesSent { get; private set; }

    /// <summary>False after a 421, an I/O error, a timeout, a cancellation, QUIT or dispose.</summary>
    public bool IsUsable => !_broken && !_disposed;

    /// <summary>The last lines of the conversation, AUTH redacted.</summary>
    public SmtpClientTranscript Transcript => _transcript;

    /// <summary>
    /// Connects over TCP and runs the session up to the first MAIL: greeting, EHLO (HELO when EHLO gets a 5xx),
    /// STARTTLS per <see cref="SmtpClientOptions.TlsPolicy"/> (EHLO again over TLS), AUTH when credentials are set.
    /// Returns the connection, or the reply that refused it; throws <see cref="SmtpClientException"/> when the
    /// conversation broke (see the class remarks).
    /// </summary>
    public static async Task<SmtpConnectResult> ConnectAsync(IPEndPoint endPoint, string serverName, SmtpClientOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(serverName);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var transcript = new SmtpClientTranscript(options.TranscriptLines);
        transcript.Event($"connecting to {endPoint} ({serverName})");
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var deadline = new Deadline(options.ConnectTimeout, options.TimeProvider, ct);
            try
            {
                await socket.ConnectAsync(endPoint, deadline.Token);
            }
            catch (OperationCanceledException e) when (deadline.TimedOut)
            {
                transcript.Event("connect timed out");
                throw new SmtpClientException(SmtpClientStage.Connect, $"Connecting to {endPoint} timed out after {options.ConnectTimeout}",
                    null, transcript.Lines, e, isTimeout: true);
            }
            catch (SocketException e)
            {
                transcript.Event($"connect failed: {e.Message}");
                throw new SmtpClientException(SmtpClientStage.Connect, $"Connecting to {endPoint} failed: {e.Message}", null, transcript.Lines, e);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new SmtpClientConnection(socket, endPoint, serverName.Length > 0 ? serverName : endPoint.Address.ToString(), options, transcript);
        var ready = false;
        try
        {
            var result = await connection.OpenAsync(ct);
            ready = result.Succeeded;
            return result;
        }
        catch (OperationCanceledException)
        {
            connection._broken = true;
            throw;
        }
        finally
        {
            if (!ready)
                await connection.DisposeAsync();
        }
    }

    private async Task<SmtpConnectResult> OpenAsync(CancellationToken ct)
    {
        _transcript.Event("connected");
        var greeting = await ReadReplyAsync(_options.GreetingTimeout, SmtpClientStage.Greeting, ct);
        Greeting = greeting;
        if (!IsSuccess(greeting))
            return await FailAsync(SmtpClientStage.Greeting, greeting, fromServer: true);

        var hello = await HelloAsync(ct);
        if (!IsSuccess(hello))
            return await FailAsync(SmtpClientStage.Hello, hello, fromServer: true);

        if (_options.TlsPolicy != TlsPolicy.None)
        {
            if (!Capabilities.StartTls)
            {
                if (_options.TlsPolicy == TlsPolicy.Required)
                    return await FailAsync(SmtpClientStage.StartTls, TlsNotOffered, fromServer: false);
            }
            else
            {
                var reply = await CommandAsync("STARTTLS", SmtpClientStage.StartTls, _options.CommandTimeout, ct);
                if (reply.Code == 220)
                {
                    await StartTlsAsync(ct);
                    hello = await HelloAsync(ct);
                    if (!IsSuccess(hello))
                        return await FailAsync(SmtpClientStage.Hello, hello, fromServer: true);
                }
                else if (_options.TlsPolicy == TlsPolicy.Required || reply.Code == 421)
                    return await FailAsync(SmtpClientStage.StartTls, reply, fromServer: true);
                else
                    _transcript.Event("STARTTLS refused: continuing without TLS");
            }
        }

        if (_options.Credentials is { } credentials)
        {
            var failure = await AuthenticateAsync(credentials, ct);
            if (failure is not null)
                return failure;
        }
        return SmtpConnectResult.Success(this);
    }

    /// <summary>EHLO; HELO when EHLO gets a 5xx (RFC 5321 3.2). Sets <see cref="Capabilities"/>.</summary>
    private async Task<SmtpReply> HelloAsync(CancellationToken ct)
    {
        var ehlo = await CommandAsync("EHLO " + _options.HeloName, SmtpClientStage.Hello, _options.CommandTimeout, ct);
        if (IsSuccess(ehlo))
        {
            Capabilities = SmtpCapabilities.Parse(ehlo);
            return ehlo;
        }
        Capabilities = SmtpCapabilities.None;
        if (ehlo.Code < 500)
            return ehlo;
        return await CommandAsync("HELO " + _options.HeloName, SmtpClientStage.Hello, _options.CommandTimeout, ct);
    }

    private async Task StartTlsAsync(CancellationToken ct)
    {
        // RFC 3207 5 / CVE-2011-0411 in reverse: bytes behind the 220 were not protected by TLS; never read them.
        if (_reader.TryRead(out var pending))
        {
            var injected = pending.Buffer.Length;
            _reader.AdvanceTo(pending.Buffer.End);
            if (injected > 0)
                throw Fail(SmtpClientStage.StartTls, $"The server sent {injected} octets after its STARTTLS reply", null);
        }
        await _reader.CompleteAsync();

        var accept = _options.TlsPolicy == TlsPolicy.Opportunistic || _options.AcceptAnyCertificate;
        var tls = new SslStream(_network, leaveInnerStreamOpen: true);
        var authentication = new SslClientAuthenticationOptions
        {
            TargetHost = ServerName,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
#pragma warning disable CA5359 // opportunistic STARTTLS between MTAs (RFC 7435); Required validates unless configured otherwise
            RemoteCertificateValidationCallback = accept ? AcceptAnyCertificate : null,
#pragma warning restore CA5359
        };
        using var deadline = new Deadline(_options.TlsHandshakeTimeout, _options.TimeProvider, ct);
        try
        {
            await tls.AuthenticateAsClientAsync(authentication, deadline.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException or OperationCanceledException)
        {
            await tls.DisposeAsync();
            if (e is OperationCanceledException && !deadline.TimedOut)
            {
                _broken = true;
                throw;
            }
            throw Fail(SmtpClientStage.StartTls, deadline.TimedOut ? "TLS handshake timed out" : $"TLS handshake failed: {e.Message}", e, isTimeout: deadline.TimedOut);
        }
        _tls = tls;
        _stream = tls;
        _reader = CreateReader(tls);
        _transcript.Event($"TLS established: {tls.SslProtocol}, {tls.NegotiatedCipherSuite}");
    }

    /// <summary>Opportunistic TLS (and Required with AcceptAnyCertificate): encryption without authentication, as MTAs do.</summary>
    private static bool AcceptAnyCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) => true;

    /// <summary>AUTH PLAIN (preferred) or LOGIN; null on success, else the failure result.</summary>
    private async Task<SmtpConnectResult?> AuthenticateAsync(SmtpClientCredentials credentials, CancellationToken ct)
    {
        if (!IsTls && !_options.AllowPlaintextAuth)
            return await FailAsync(SmtpClientStage.Auth, AuthWithoutTls, fromServer: false);
        var mechanisms = Capabilities.AuthMechanisms;
        SmtpReply reply;
        if (mechanisms.Contains("PLAIN"))
        {
            var response = Base64("\0" + credentials.UserName + "\0" + credentials.Password);
            _transcript.ClientAuth("PLAIN", hasInitialResponse: true);
            reply = await ExchangeAsync("AUTH PLAIN " + response, ct);
            if (reply.Code == 334) // a server that wants the response on its own line: give up rather than guess
            {
                reply = await CommandAsync("*", SmtpClientStage.Auth, _options.CommandTimeout, ct);
            }
        }
        else if (mechanisms.Contains("LOGIN"))
        {
            _transcript.ClientAuth("LOGIN", hasInitialResponse: false);
            reply = await ExchangeAsync("AUTH LOGIN", ct);
            if (reply.Code == 334)
            {
                _transcript.ClientSecret();
                reply = await ExchangeAsync(Base64(credentials.UserName), ct);
            }
            if (reply.Code == 334)
            {
                _transcript.ClientSecret();
                reply = await ExchangeAsync(Base64(credentials.Password), ct);
            }
        }
        else
            return await FailAsync(SmtpClientStage.Auth, AuthNotOffered, fromServer: false);

        if (reply.Code == 235)
        {
            IsAuthenticated = true;
            return null;
        }
        return await FailAsync(SmtpClientStage.Auth, reply, fromServer: true);

        // The command line is a secret: it was put in the transcript redacted by the caller.
        async Task<SmtpReply> ExchangeAsync(string line, CancellationToken token)
        {
            Write(line);
            await FlushAsync(SmtpClientStage.Auth, _options.CommandTimeout, token);
            return await ReadReplyAsync(_options.CommandTimeout, SmtpClientStage.Auth, token);
        }
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>A refusal during connect: QUIT politely unless the server already said goodbye.</summary>
    private async Task<SmtpConnectResult> FailAsync(SmtpClientStage stage, SmtpReply reply, bool fromServer)
    {
        if (!fromServer)
            _transcript.Event($"refusing: {reply}");
        await TryQuitAsync();
        return SmtpConnectResult.Failure(stage, reply, fromServer, _transcript.Lines);
    }

    /// <summary>QUIT and close. Never throws for the server's sake; the connection is closed in any case.</summary>
    public async Task QuitAsync(CancellationToken ct)
    {
        if (!IsUsable)
        {
            await DisposeAsync();
            return;
        }
        Enter();
        try
        {
            await CommandAsync("QUIT", SmtpClientStage.Quit, _options.CommandTimeout, ct);
        }
        catch (SmtpClientException)
        {
            // the server went away first: nothing left to do
        }
        finally
        {
            _broken = true;
            Exit();
            await DisposeAsync();
        }
    }

    private async Task TryQuitAsync()
    {
        if (!IsUsable)
            return;
        try
        {
            var timeout = _options.CommandTimeout < BestEffortQuit ? _options.CommandTimeout : BestEffortQuit;
            await CommandAsync("QUIT", SmtpClientStage.Quit, timeout, CancellationToken.None);
        }
        catch (SmtpClientException)
        {
            // best effort
        }
        _broken = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            await _reader.CompleteAsync();
        }
        catch (InvalidOperationException)
        {
            // a read was in progress when the connection broke
        }
        if (_tls is not null)
            await _tls.DisposeAsync();
        await _network.DisposeAsync();
    }

    /// <summary>
    /// Runs one operation of the transaction (<see cref="SendAsync"/>, the steps, <see cref="ResetAsync"/>): one at a
    /// time, and a cancellation through <paramref name="ct"/> leaves the connection unusable — the server may be
    /// anywhere in the exchange. The operation gets the connection and <paramref name="state"/>, so a static lambda
    /// serves and no closure is allocated per call.
    /// </summary>
    // Pooled, as are the operations it runs: cut-through calls these for every message. Unpooled, the two async
    // layers the helper adds cost ~1.1 KB per step-by-step transaction (+14 % of the client's allocations); pooled,
    // only the cache's occasional misses (~30 B, sampled).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResult> RunAsync<TState, TResult>(TState state,
        Func<SmtpClientConnection, TState, CancellationToken, ValueTask<TResult>> operation, CancellationToken ct)
    {
        Enter();
        try
        {
            return await operation(this, state, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _broken = true;
            throw;
        }
        finally
        {
            Exit();
        }
    }

    private void Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("An SMTP connection runs one operation at a time");
        if (_broken)
        {
            _busy = 0;
            throw new InvalidOperationException("The SMTP connection is no longer usable", _failure);
        }
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    private static bool IsSuccess(SmtpReply reply) => reply.Code is >= 200 and < 300;
}
