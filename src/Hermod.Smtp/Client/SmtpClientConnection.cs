using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;

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
/// </summary>
public sealed class SmtpClientConnection : IAsyncDisposable
{
    private static readonly SmtpReply TlsNotOffered = new(454, "4.7.4", "TLS is required, but the server does not offer STARTTLS");
    private static readonly SmtpReply AuthWithoutTls = new(454, "4.7.11", "Credentials are configured, but the connection is not encrypted and plaintext AUTH is not allowed");
    private static readonly SmtpReply AuthNotOffered = new(454, "4.7.4", "Credentials are configured, but the server offers neither AUTH PLAIN nor AUTH LOGIN");
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

    /// <summary>
    /// Sends one message: MAIL, RCPT for each recipient, then the content with BDAT (CHUNKING) or DATA. With
    /// PIPELINING, MAIL, the RCPTs and DATA go in one write and their replies are read in order. Ends with RSET
    /// when the transaction did not end with a 2xx, so the connection is ready for the next message.
    /// </summary>
    public async Task<SmtpTransactionResult> SendAsync(SmtpOutboundMessage message, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Recipients.Count == 0)
            throw new ArgumentException("A message needs at least one recipient", nameof(message));
        CheckPath(message.Sender, nameof(message));
        foreach (var recipient in message.Recipients)
            CheckPath(recipient.Address, nameof(message));
        Enter();
        try
        {
            if (_stepOpen)
                throw new InvalidOperationException("A transaction begun with MailAsync is open: end it with ContentAsync or ResetAsync first");
            return await SendCoreAsync(message, ct);
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

    private async Task<SmtpTransactionResult> SendCoreAsync(SmtpOutboundMessage message, CancellationToken ct)
    {
        var caps = Capabilities;
        var recipients = message.Recipients;
        var smtpUtf8 = NeedsSmtpUtf8(message);
        if (LocalRefusal(message) is { } refusal)
            return Refuse(recipients, refusal);

        var chunking = caps.Chunking && _options.UseChunking;
        var pipelining = caps.Pipelining && _options.UsePipelining;
        var commands = new List<string>(recipients.Count + 2) { MailCommand(message, caps, smtpUtf8) };
        foreach (var r in recipients)
            commands.Add(RcptCommand(r, caps));
        if (!chunking)
            commands.Add("DATA");

        var replies = new SmtpReply?[commands.Count];
        var closing = pipelining
            ? await PipelineAsync(commands, replies, ct)
            : await LockstepAsync(commands, replies, recipients.Count, ct);
        var mailReply = replies[0]!;
        var recipientReplies = new SmtpReply[recipients.Count];
        var accepted = false;
        for (var i = 0; i < recipientReplies.Length; i++)
        {
            recipientReplies[i] = replies[i + 1] ?? mailReply;
            accepted |= IsSuccess(recipientReplies[i]);
        }
        accepted &= IsSuccess(mailReply);

        SmtpReply? final = null;
        long contentLength = 0;
        if (closing is not null)
            final = accepted ? closing : null;
        else if (!chunking)
        {
            var dataReply = replies[^1];
            if (dataReply?.Code == 354 && accepted)
                (final, contentLength) = await SendDataAsync(message.WriteContent, ct);
            else if (dataReply?.Code == 354)
            {
                // DATA got through with no recipient accepted: end the (empty) content at once, then RSET.
                _transcript.Client(".");
                Write(".");
                await FlushAsync(SmtpClientStage.Content, _options.DataBlockTimeout, ct);
                await ReadReplyAsync(_options.DataTerminationTimeout, SmtpClientStage.EndOfData, ct);
            }
            else if (dataReply is not null && accepted)
            {
                if (IsSuccess(dataReply))
                    throw Fail(SmtpClientStage.Data, $"The server answered DATA with {dataReply.Code} instead of 354", null);
                final = dataReply;
            }
        }
        else if (accepted)
            (final, contentLength) = await SendBdatAsync(message.WriteContent, ct);

        if (final is not null && IsSuccess(final))
            MessagesSent++;
        else if (IsUsable)
            await TryResetAsync(ct);
        return new SmtpTransactionResult(recipients, mailReply, recipientReplies, final, rejectedLocally: false, contentLength);
    }

    /// <summary>
    /// The reply with which <see cref="SendAsync"/> and <c>MailAsync</c> refuse <paramref name="message"/> on
    /// this connection without sending anything: it needs SMTPUTF8 (flag or non-ASCII address) and the server does
    /// not offer it (553 5.6.7), or its <see cref="SmtpOutboundMessage.Size"/> exceeds the server's SIZE (552 5.3.4).
    /// Null when it can be sent.
    /// </summary>
    public SmtpReply? LocalRefusal(SmtpOutboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var caps = Capabilities;
        if (NeedsSmtpUtf8(message) && !caps.SmtpUtf8)
            return new SmtpReply(553, "5.6.7", "The message requires SMTPUTF8, which the server does not support");
        if (caps.MaxSize is { } max && message.Size > max)
            return new SmtpReply(552, "5.3.4",
                $"Message size ({message.Size.ToString(CultureInfo.InvariantCulture)} octets) exceeds the server's limit ({max.ToString(CultureInfo.InvariantCulture)} octets)");
        return null;
    }

    private static bool NeedsSmtpUtf8(SmtpOutboundMessage message)
    {
        var smtpUtf8 = message.SmtpUtf8 || !Ascii.IsValid(message.Sender);
        foreach (var r in message.Recipients)
            smtpUtf8 |= !Ascii.IsValid(r.Address);
        return smtpUtf8;
    }

    // ---- step by step ----------------------------------------------------------------------------------------

    /// <summary>
    /// Begins a transaction step by step: MAIL FROM with the parameters <see cref="SendAsync"/> would send (SIZE= only
    /// when <see cref="SmtpOutboundMessage.Size"/> is above 0, BODY, SMTPUTF8, RET/ENVID when the server offers DSN).
    /// <see cref="SmtpOutboundMessage.Recipients"/> may be empty (non-ASCII ones make it SMTPUTF8);
    /// <see cref="SmtpOutboundMessage.WriteContent"/> is not used. Returns the server's reply, or the local refusal of
    /// <see cref="LocalRefusal"/> without sending anything. After a 2xx the transaction is open.
    /// </summary>
    public async Task<SmtpReply> MailAsync(SmtpOutboundMessage message, CancellationToken ct) => (await MailAsync(message, null, ct)).Mail;

    /// <summary>
    /// <see cref="MailAsync(SmtpOutboundMessage, CancellationToken)"/> with the transaction's first recipient: when the
    /// server offers PIPELINING, MAIL and that RCPT go in one write and cost one round trip (RFC 2920); without it, RCPT
    /// follows MAIL's 2xx. Returns MAIL's reply and, when MAIL got a 2xx, the recipient's reply as
    /// <see cref="RcptAsync"/> would give it (null when MAIL was refused: a pipelined RCPT's reply to a refused MAIL is
    /// read and dropped). With <paramref name="first"/> null only MAIL goes.
    /// </summary>
    public async Task<(SmtpReply Mail, SmtpReply? Rcpt)> MailAsync(SmtpOutboundMessage message, EnvelopeRecipient? first, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckPath(message.Sender, nameof(message));
        foreach (var recipient in message.Recipients)
            CheckPath(recipient.Address, nameof(message));
        if (first is not null)
            CheckPath(first.Address, nameof(first));
        Enter();
        try
        {
            if (_stepOpen)
                throw new InvalidOperationException("A transaction is open: end it with ContentAsync or ResetAsync first");
            if (LocalRefusal(message) is { } refusal)
            {
                _transcript.Event($"not sending: {refusal}");
                return (refusal, null);
            }
            var smtpUtf8 = NeedsSmtpUtf8(message);
            var mailCommand = MailCommand(message, Capabilities, smtpUtf8);
            var local = first is null ? null : Refused(first, smtpUtf8);
            SmtpReply mail;
            SmtpReply? rcpt = null;
            if (first is not null && local is null && Capabilities.Pipelining && _options.UsePipelining)
            {
                var replies = new SmtpReply?[2];
                await PipelineAsync([mailCommand, RcptCommand(first, Capabilities)], replies, ct);
                (mail, rcpt) = (replies[0]!, replies[1]);
            }
            else
            {
                mail = await CommandAsync(mailCommand, SmtpClientStage.Mail, _options.CommandTimeout, ct);
                if (first is not null && IsSuccess(mail))
                    rcpt = local ?? await CommandAsync(RcptCommand(first, Capabilities), SmtpClientStage.Rcpt, _options.CommandTimeout, ct);
            }
            if (!IsSuccess(mail))
                return (mail, null);
            rcpt ??= local;
            _stepOpen = true;
            _stepUtf8 = smtpUtf8;
            _stepAccepted = rcpt is not null && IsSuccess(rcpt);
            return (mail, rcpt);
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

    /// <summary>A recipient a transaction cannot carry, refused without sending: a non-ASCII address without SMTPUTF8 (553 5.6.7).</summary>
    public static SmtpReply? RcptRefusal(EnvelopeRecipient recipient, bool smtpUtf8)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        return smtpUtf8 || Ascii.IsValid(recipient.Address) ? null : NonAsciiRecipient;
    }

    private static readonly SmtpReply NonAsciiRecipient = new(553, "5.6.7", "The recipient address requires SMTPUTF8, which the transaction did not declare");

    private SmtpReply? Refused(EnvelopeRecipient recipient, bool smtpUtf8)
    {
        var refusal = RcptRefusal(recipient, smtpUtf8);
        if (refusal is not null)
            _transcript.Event($"not sending: {refusal}");
        return refusal;
    }

    /// <summary>
    /// One RCPT TO (NOTIFY / ORCPT when the server offers DSN) in the transaction <c>MailAsync</c> opened; returns
    /// the server's reply (a 421 ends the session). A non-ASCII address in a transaction without SMTPUTF8 is refused
    /// locally (553 5.6.7) without sending. Throws <see cref="InvalidOperationException"/> when no transaction is open.
    /// </summary>
    public async Task<SmtpReply> RcptAsync(EnvelopeRecipient recipient, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        CheckPath(recipient.Address, nameof(recipient));
        Enter();
        try
        {
            if (!_stepOpen)
                throw new InvalidOperationException("RCPT needs an open transaction: MailAsync first, with a 2xx reply");
            if (_dataReply is not null)
                throw new InvalidOperationException("DATA was sent: the content comes next");
            if (Refused(recipient, _stepUtf8) is { } refusal)
                return refusal;
            var reply = await CommandAsync(RcptCommand(recipient, Capabilities), SmtpClientStage.Rcpt, _options.CommandTimeout, ct);
            _stepAccepted |= IsSuccess(reply);
            return reply;
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

    /// <summary>
    /// Opens the content phase of the open transaction ahead of <see cref="ContentAsync"/>, so that the content costs
    /// one round trip less when it comes: DATA, and its reply (returned). With CHUNKING there is nothing to open (BDAT
    /// carries the content): null, and nothing is sent. After a 354 the server waits for the content and only
    /// <see cref="ContentAsync"/> can follow — <see cref="ResetAsync"/> then closes the connection instead, since an
    /// RSET would be read as content. Any other reply is what <see cref="ContentAsync"/> will answer. Throws
    /// <see cref="InvalidOperationException"/> unless a recipient was accepted, or when DATA went already.
    /// </summary>
    public async Task<SmtpReply?> OpenDataAsync(CancellationToken ct)
    {
        Enter();
        try
        {
            if (!_stepOpen || !_stepAccepted)
                throw new InvalidOperationException("No recipient was accepted: there is no transaction to send content in");
            if (_dataReply is not null)
                throw new InvalidOperationException("DATA was sent already");
            if (Capabilities.Chunking && _options.UseChunking)
                return null;
            var data = await CommandAsync("DATA", SmtpClientStage.Data, _options.DataInitiationTimeout, ct);
            if (IsSuccess(data))
                throw Fail(SmtpClientStage.Data, $"The server answered DATA with {data.Code} instead of 354", null);
            _dataReply = data;
            return data;
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

    /// <summary>
    /// Sends the content of the open transaction as <see cref="SendAsync"/> does — BDAT when the server offers
    /// CHUNKING, else DATA (354, then the content dot-stuffed) — and ends the transaction. Returns the final reply
    /// (after the last chunk or the final dot, or the refusal of DATA or of a chunk) and the content octets written;
    /// a 2xx counts in <see cref="MessagesSent"/>, anything else is followed by RSET. Throws
    /// <see cref="InvalidOperationException"/> unless at least one <see cref="RcptAsync"/> got a 2xx.
    /// </summary>
    public async Task<(SmtpReply Final, long Length)> ContentAsync(Func<Stream, CancellationToken, Task> writeContent, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(writeContent);
        Enter();
        try
        {
            if (!_stepOpen || !_stepAccepted)
                throw new InvalidOperationException("No recipient was accepted: there is no transaction to send content in");
            _stepOpen = false;
            SmtpReply final;
            long length = 0;
            if (Capabilities.Chunking && _options.UseChunking)
                (final, length) = await SendBdatAsync(writeContent, ct);
            else
            {
                var data = _dataReply ?? await CommandAsync("DATA", SmtpClientStage.Data, _options.DataInitiationTimeout, ct);
                _dataReply = null;
                if (data.Code == 354)
                    (final, length) = await SendDataAsync(writeContent, ct);
                else if (IsSuccess(data))
                    throw Fail(SmtpClientStage.Data, $"The server answered DATA with {data.Code} instead of 354", null);
                else
                    final = data;
            }
            if (IsSuccess(final))
                MessagesSent++;
            else if (IsUsable)
                await TryResetAsync(ct);
            return (final, length);
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

    private SmtpTransactionResult Refuse(IReadOnlyList<EnvelopeRecipient> recipients, SmtpReply reason)
    {
        _transcript.Event($"not sending: {reason}");
        return SmtpTransactionResult.Local(recipients, reason);
    }

    private static string MailCommand(SmtpOutboundMessage message, SmtpCapabilities caps, bool smtpUtf8)
    {
        var sb = new StringBuilder("MAIL FROM:<").Append(message.Sender).Append('>');
        if (caps.Size && message.Size > 0)
            sb.Append(" SIZE=").Append(message.Size.ToString(CultureInfo.InvariantCulture));
        if (message.Body == BodyType.EightBitMime && caps.EightBitMime)
            sb.Append(" BODY=8BITMIME");
        if (smtpUtf8)
            sb.Append(" SMTPUTF8");
        if (caps.Dsn)
        {
            if (message.Ret != DsnReturn.Default)
                sb.Append(" RET=").Append(message.Ret == DsnReturn.Full ? "FULL" : "HDRS");
            if (!string.IsNullOrEmpty(message.EnvelopeId))
                sb.Append(" ENVID=").Append(Xtext.Encode(message.EnvelopeId));
        }
        return sb.ToString();
    }

    private static string RcptCommand(EnvelopeRecipient recipient, SmtpCapabilities caps)
    {
        var sb = new StringBuilder("RCPT TO:<").Append(recipient.Address).Append('>');
        if (caps.Dsn)
        {
            if (recipient.Notify != DsnNotify.Default)
                sb.Append(" NOTIFY=").Append(NotifyValue(recipient.Notify));
            if (!string.IsNullOrEmpty(recipient.OriginalRecipient))
                sb.Append(" ORCPT=").Append(Xtext.EncodeOrcpt(recipient.OriginalRecipient));
        }
        return sb.ToString();
    }

    private static string NotifyValue(DsnNotify notify)
    {
        if ((notify & DsnNotify.Never) != 0)
            return "NEVER";
        var parts = new List<string>(3);
        if ((notify & DsnNotify.Success) != 0)
            parts.Add("SUCCESS");
        if ((notify & DsnNotify.Failure) != 0)
            parts.Add("FAILURE");
        if ((notify & DsnNotify.Delay) != 0)
            parts.Add("DELAY");
        return string.Join(',', parts);
    }

    /// <summary>
    /// PIPELINING (RFC 2920): commands go in batches of at most <see cref="SmtpClientOptions.MaxPipelinedCommands"/>,
    /// each batch in one write, then its replies are read in order. Returns the 421 that ended the session, if one
    /// did; the replies it left unread are that 421.
    /// </summary>
    private async Task<SmtpReply?> PipelineAsync(List<string> commands, SmtpReply?[] replies, CancellationToken ct)
    {
        SmtpReply? closing = null;
        for (var start = 0; start < commands.Count && closing is null; start += _options.MaxPipelinedCommands)
        {
            var end = Math.Min(commands.Count, start + _options.MaxPipelinedCommands);
            for (var i = start; i < end; i++)
            {
                _transcript.Client(commands[i]);
                Write(commands[i]);
            }
            await FlushAsync(StageOf(commands, start), _options.CommandTimeout, ct);
            for (var i = start; i < end && closing is null; i++)
            {
                replies[i] = await ReadReplyAsync(TimeoutOf(commands, i), StageOf(commands, i), ct);
                if (replies[i]!.Code == 421)
                    closing = replies[i];
            }
        }
        if (closing is not null)
            for (var i = 0; i < replies.Length; i++)
                replies[i] ??= closing;
        return closing;
    }

    /// <summary>Without PIPELINING: one command, one reply; no RCPT after a refused MAIL, no DATA without an accepted RCPT.</summary>
    private async Task<SmtpReply?> LockstepAsync(List<string> commands, SmtpReply?[] replies, int recipients, CancellationToken ct)
    {
        var mail = replies[0] = await CommandAsync(commands[0], SmtpClientStage.Mail, _options.CommandTimeout, ct);
        if (mail.Code == 421)
        {
            Array.Fill(replies, mail);
            return mail;
        }
        if (!IsSuccess(mail))
            return null;
        var accepted = false;
        for (var i = 1; i <= recipients; i++)
        {
            var reply = replies[i] = await CommandAsync(commands[i], SmtpClientStage.Rcpt, _options.CommandTimeout, ct);
            if (reply.Code == 421)
            {
                for (var j = i; j < replies.Length; j++)
                    replies[j] = reply;
                return reply;
            }
            accepted |= IsSuccess(reply);
        }
        if (accepted && commands.Count > recipients + 1)
        {
            var data = replies[^1] = await CommandAsync("DATA", SmtpClientStage.Data, _options.DataInitiationTimeout, ct);
            if (data.Code == 421)
                return data;
        }
        return null;
    }

    private static SmtpClientStage StageOf(List<string> commands, int i) =>
        i == 0 ? SmtpClientStage.Mail : commands[i] == "DATA" ? SmtpClientStage.Data : SmtpClientStage.Rcpt;

    private TimeSpan TimeoutOf(List<string> commands, int i) =>
        commands[i] == "DATA" ? _options.DataInitiationTimeout : _options.CommandTimeout;

    private async Task<(SmtpReply Final, long Length)> SendDataAsync(Func<Stream, CancellationToken, Task> writeContent, CancellationToken ct)
    {
        await using var stream = new DotStuffingStream(_options.ChunkSize,
            bytes => WriteAsync(bytes, SmtpClientStage.Content, _options.DataBlockTimeout, ct));
        await WriteContentAsync(writeContent, stream, ct);
        await stream.CompleteAsync();
        _transcript.Event($"{stream.ContentLength.ToString(CultureInfo.InvariantCulture)} octets of content sent");
        _transcript.Client(".");
        var final = await ReadReplyAsync(_options.DataTerminationTimeout, SmtpClientStage.EndOfData, ct, mayHaveBeenDelivered: true);
        return (final, stream.ContentLength);
    }

    private async Task<(SmtpReply Final, long Length)> SendBdatAsync(Func<Stream, CancellationToken, Task> writeContent, CancellationToken ct)
    {
        var window = Capabilities.Pipelining && _options.UsePipelining ? _options.MaxChunksInFlight : 1;
        await using var stream = new BdatStream(_options.ChunkSize, window,
            (bytes, command) =>
            {
                _transcript.Client(command);
                return WriteAsync(bytes, SmtpClientStage.Content, _options.DataBlockTimeout, ct);
            },
            () => new ValueTask<SmtpReply>(ReadReplyAsync(_options.DataBlockTimeout, SmtpClientStage.Content, ct)));
        try
        {
            await WriteContentAsync(writeContent, stream, ct);
        }
        catch (Exception) when (stream.Failure is not null && _failure is null)
        {
            // A chunk was refused: the writes stopped; the refusal is the transaction's answer.
        }
        var final = await stream.CompleteAsync(() =>
            new ValueTask<SmtpReply>(ReadReplyAsync(_options.DataTerminationTimeout, SmtpClientStage.EndOfData, ct, mayHaveBeenDelivered: true)));
        _transcript.Event($"{stream.ContentLength.ToString(CultureInfo.InvariantCulture)} octets of content sent");
        return (final, stream.ContentLength);
    }

    /// <summary>Runs the content source. If it fails, the data cannot be ended cleanly: the connection is given up.</summary>
    private async Task WriteContentAsync(Func<Stream, CancellationToken, Task> writeContent, Stream stream, CancellationToken ct)
    {
        try
        {
            await writeContent(stream, ct);
        }
        catch (Exception e) when (e is not SmtpClientException)
        {
            if (_failure is not null)
                throw _failure; // our own I/O failure, wrapped or rethrown by the content source
            if (stream is BdatStream { Failure: not null })
                throw;
            _broken = true;
            _transcript.Event($"content source failed: {e.GetType().Name}");
            throw;
        }
    }

    /// <summary>
    /// RSET (RFC 5321 4.1.1.5): aborts any transaction (one begun with <see cref="MailAsync(SmtpOutboundMessage, CancellationToken)"/>
    /// too); the connection can carry the next message. After <see cref="OpenDataAsync"/> got its 354 there is no way
    /// back but closing: throws <see cref="SmtpClientException"/> and the connection is no longer usable.
    /// </summary>
    public async Task<SmtpReply> ResetAsync(CancellationToken ct)
    {
        Enter();
        try
        {
            _stepOpen = false;
            var inData = _dataReply?.Code == 354;
            _dataReply = null;
            if (inData) // the server reads everything as content now, RSET too: only closing ends the transaction
                throw Fail(SmtpClientStage.Reset, "The transaction was given up after DATA: the connection cannot be reset", null);
            return await CommandAsync("RSET", SmtpClientStage.Reset, _options.CommandTimeout, ct);
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

    /// <summary>RSET after a failed transaction; its own failure only makes the connection unusable.</summary>
    private async Task TryResetAsync(CancellationToken ct)
    {
        try
        {
            await CommandAsync("RSET", SmtpClientStage.Reset, _options.CommandTimeout, ct);
        }
        catch (SmtpClientException)
        {
            // recorded: _broken is set and the transcript says why
        }
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

    // ---- I/O -------------------------------------------------------------------------------------------------

    private static PipeReader CreateReader(Stream stream) =>
        PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true));

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

    /// <summary>Addresses go into command lines as they are: no control characters (command injection).</summary>
    private static void CheckPath(string address, string parameter)
    {
        ArgumentNullException.ThrowIfNull(address, parameter);
        foreach (var c in address)
            if (c < ' ' || c == 127)
                throw new ArgumentException($"Address contains a control character: {PathParser.Sanitize(address)}", parameter);
    }

    /// <summary>Writes one command (transcript: <see cref="_transcript"/>), reads its reply.</summary>
    private async Task<SmtpReply> CommandAsync(string line, SmtpClientStage stage, TimeSpan replyTimeout, CancellationToken ct)
    {
        _transcript.Client(line);
        Write(line);
        await FlushAsync(stage, _options.CommandTimeout, ct);
        return await ReadReplyAsync(replyTimeout, stage, ct);
    }

    /// <summary>Buffers a command line; <see cref="FlushAsync"/> sends everything buffered in one write.</summary>
    private void Write(string line)
    {
        var span = _out.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length) + 2);
        var n = Encoding.UTF8.GetBytes(line, span);
        span[n] = (byte)'\r';
        span[n + 1] = (byte)'\n';
        _out.Advance(n + 2);
    }

    private async ValueTask FlushAsync(SmtpClientStage stage, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await WriteAsync(_out.WrittenMemory, stage, timeout, ct);
        }
        finally
        {
            _out.ResetWrittenCount();
        }
    }

    private async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, SmtpClientStage stage, TimeSpan timeout, CancellationToken ct)
    {
        if (_failure is not null)
            throw _failure;
        using var deadline = new Deadline(timeout, _options.TimeProvider, ct);
        try
        {
            await _stream.WriteAsync(bytes, deadline.Token);
        }
        catch (OperationCanceledException e) when (deadline.TimedOut)
        {
            throw Fail(stage, $"Sending to the server timed out after {timeout}", e, isTimeout: true);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw Fail(stage, $"Connection lost while sending: {e.Message}", e);
        }
        catch (OperationCanceledException)
        {
            _broken = true;
            throw;
        }
    }

    private async Task<SmtpReply> ReadReplyAsync(TimeSpan timeout, SmtpClientStage stage, CancellationToken ct, bool mayHaveBeenDelivered = false)
    {
        if (_failure is not null)
            throw _failure;
        using var deadline = new Deadline(timeout, _options.TimeProvider, ct);
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(deadline.Token);
                var buffer = result.Buffer;
                var reader = new SequenceReader<byte>(buffer);
                SmtpReply reply;
                bool complete;
                try
                {
                    complete = ReplyParser.TryParse(ref reader, out reply);
                }
                catch (InvalidDataException e)
                {
                    _reader.AdvanceTo(buffer.End);
                    throw Fail(stage, $"Protocol error: {e.Message}", e, mayHaveBeenDelivered);
                }
                if (complete)
                {
                    _reader.AdvanceTo(reader.Position);
                    _lastReply = reply;
                    _transcript.Server(reply);
                    if (reply.Code == 421)
                    {
                        _broken = true;
                        _transcript.Event("the server is closing the session");
                    }
                    return reply;
                }
                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                    throw Fail(stage, "Connection closed by the server", null, mayHaveBeenDelivered);
            }
        }
        catch (OperationCanceledException e) when (deadline.TimedOut)
        {
            throw Fail(stage, $"No reply from the server within {timeout}", e, mayHaveBeenDelivered, isTimeout: true);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw Fail(stage, $"Connection lost while reading: {e.Message}", e, mayHaveBeenDelivered);
        }
        catch (OperationCanceledException)
        {
            _broken = true;
            throw;
        }
    }

    /// <summary>Marks the connection broken and builds the exception that says how (kept: later calls rethrow it).</summary>
    private SmtpClientException Fail(SmtpClientStage stage, string message, Exception? inner, bool mayHaveBeenDelivered = false, bool isTimeout = false)
    {
        if (_failure is not null)
            return _failure;
        _broken = true;
        _transcript.Event($"{stage}: {message}");
        _failure = new SmtpClientException(stage, message, _lastReply, _transcript.Lines, inner, mayHaveBeenDelivered, isTimeout);
        return _failure;
    }

    /// <summary>A timeout on the options' clock, linked with the caller's token.</summary>
    private sealed class Deadline : IDisposable
    {
        private readonly CancellationTokenSource _timer;
        private readonly CancellationTokenSource _linked;

        public Deadline(TimeSpan timeout, TimeProvider time, CancellationToken ct)
        {
            _timer = new CancellationTokenSource(timeout, time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _timer.Token);
        }

        public CancellationToken Token => _linked.Token;

        public bool TimedOut => _timer.IsCancellationRequested;

        public void Dispose()
        {
            _linked.Dispose();
            _timer.Dispose();
        }
    }
}
