// SmtpSession: the session — its state, the read loop, the dispatch of each command to the table's next state, replies
// and errors, the end of the session, and its log events. The commands' work is in the other SmtpSession.*.cs files.
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Text;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Protocol;
using Hermod.Smtp.StateMachine;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Hermod.Smtp.Server;

/// <summary>
/// One SMTP session: a single read loop that parses every complete command in the buffer, answers into the
/// output pipe and flushes once per batch (PIPELINING). Each command moves the session as
/// <see cref="SmtpStateTable"/> says; the mail transaction under way is a <see cref="SmtpTransaction"/>. Message
/// content streams through <see cref="DataFilter"/> into the blob store; the 250 for a message is written only after
/// the store made it durable.
/// </summary>
public sealed partial class SmtpSession : IAsyncDisposable
{
    private enum Mode { Command, SkipLongLine, AuthResponse, Data, BdatChunk }

    private const int MaxAuthLine = 12288; // RFC 4954 4

    private readonly SmtpServerContext _ctx;
    private readonly ListenerOptions _listener;
    private readonly SmtpLimits _limits;
    private readonly IDuplexPipe _transport;
    private readonly IPAddress _remote;
    private readonly CancellationToken _stopping;
    private readonly IMessagePipeline _pipeline;
    private ConnectDecision _connection = ConnectDecision.Accept;
    private PipeReader _input;
    private PipeWriter _output;
    private SslStream? _tls;

    private SmtpState _state = SmtpState.Connected;
    private Mode _mode = Mode.Command;
    private SequencePosition _consumed;
    private bool _close;
    private bool _startTls;
    private int _errors;
    private string _helo = "";
    private bool _esmtp;
    private string? _authUser;

    // AUTH exchange
    private string _authMechanism = "";
    private string? _authLoginUser;

    // The mail transaction under way, null between transactions; a reset disposes it. The session has one transaction
    // object, made at its first MAIL and begun again at each one after: a MAIL allocates nothing for it.
    private SmtpTransaction? _tx;
    private SmtpTransaction? _transaction;

    // The BDAT chunk being read: what is left of it, whether it ends the message, whether it is dropped and refused.
    private long _bdatRemaining;
    private bool _bdatLast;
    private bool _bdatRefused;

    public SmtpSession(SmtpServerContext ctx, ListenerOptions listener, IDuplexPipe transport, IPAddress remote, CancellationToken stopping)
    {
        _ctx = ctx;
        _listener = listener;
        _limits = ctx.Options.Limits;
        _transport = transport;
        _remote = remote;
        _stopping = stopping;
        _input = transport.Input;
        _output = transport.Output;
        _pipeline = ctx.Pipelines.For(listener.Pipeline);
    }

    private SessionInfo Session => new(_listener.Name, _remote, _helo, _authUser, _tls is not null);

    public async Task RunAsync(CancellationToken connectionClosed)
    {
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(connectionClosed, _stopping);
        try
        {
            if (_listener.Tls == TlsMode.Implicit && !await StartTlsAsync(aborted.Token))
                return;
            _connection = await _pipeline.ConnectAsync(Session, aborted.Token);
            if (_connection.Refusal is { } refused)
            {
                _ctx.Metrics.Reject(_listener.Name, RejectReason.Policy);
                Reply(SmtpReplies.ConnectionRefused(refused));
                await _output.FlushAsync(aborted.Token);
                return;
            }
            Reply(SmtpReplies.Greeting(_ctx.Hostname));
            await _output.FlushAsync(aborted.Token);
            while (!_close)
            {
                if (!await ReadAndProcessAsync(aborted.Token))
                    break;
                await _output.FlushAsync(aborted.Token);
                _tx?.AnnounceContent(); // after the client has its 354: the next hop's DATA goes while the content comes
                if (_startTls)
                {
                    _startTls = false;
                    if (!await StartTlsAsync(aborted.Token))
                        break;
                }
            }
            await _output.FlushAsync(aborted.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !connectionClosed.IsCancellationRequested)
        {
            await TryReplyAndFlushAsync(SmtpReplies.ShuttingDown);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionAbortedException or ObjectDisposedException)
        {
            LogConnectionLost(_ctx.Logger, _remote, e.Message);
        }
        finally
        {
            await DisposeAsync();
        }
    }

    /// <summary>Drops an unfinished message and closes TLS; <see cref="RunAsync"/> does this when the session ends.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_tx is not null)
            await _tx.DisposeAsync();
        _tx = null;
        if (_tls is not null)
            await _tls.DisposeAsync();
        _tls = null;
    }

    private async Task TryReplyAndFlushAsync(SmtpReply reply)
    {
        try
        {
            Reply(reply);
            await _output.FlushAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException or ObjectDisposedException)
        {
            LogConnectionLost(_ctx.Logger, _remote, e.Message);
        }
    }

    /// <summary>One read, then every complete unit in the buffer. False: close the connection.</summary>
    private async Task<bool> ReadAndProcessAsync(CancellationToken aborted)
    {
        var timeout = _mode is Mode.Data or Mode.BdatChunk ? _ctx.Options.Timeouts.DataBlock : _ctx.Options.Timeouts.Command;
        ReadResult result;
        using (var timer = CancellationTokenSource.CreateLinkedTokenSource(aborted))
        {
            timer.CancelAfter(timeout);
            try
            {
                result = await _input.ReadAsync(timer.Token);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                _ctx.Metrics.Reject(_listener.Name, RejectReason.Timeout);
                Reply(SmtpReplies.Timeout);
                return false;
            }
        }

        var buffer = result.Buffer;
        _consumed = buffer.Start;
        try
        {
            await ProcessAsync(buffer);
            if (_startTls)
                _consumed = buffer.End; // plaintext sent behind STARTTLS is discarded, never read as commands
        }
        finally
        {
            _input.AdvanceTo(_consumed, buffer.End);
        }
        if (result.IsCompleted && !_close)
        {
            LogConnectionLost(_ctx.Logger, _remote, "client closed the connection");
            return false;
        }
        return !_close;
    }

    private async Task ProcessAsync(ReadOnlySequence<byte> buffer)
    {
        while (!_close && !_startTls)
        {
            var rest = buffer.Slice(_consumed);
            switch (_mode)
            {
                case Mode.Command or Mode.AuthResponse:
                    var max = _mode == Mode.AuthResponse ? MaxAuthLine : _limits.MaxCommandLine;
                    var status = TakeLine(rest, max, out var line);
                    if (status == CommandParser.LineStatus.NeedMore)
                        return;
                    if (status == CommandParser.LineStatus.TooLong)
                    {
                        _consumed = rest.GetPosition(max); // the rest of the line is skipped up to its LF
                        _mode = Mode.SkipLongLine;
                        continue;
                    }
                    _consumed = rest.GetPosition(line.Length, rest.Start);
                    if (_mode == Mode.AuthResponse)
                        await HandleAuthResponseAsync(AsString(line.Text));
                    else
                        await HandleCommandAsync(line.Text);
                    break;
                case Mode.SkipLongLine:
                    var reader = new SequenceReader<byte>(rest);
                    var skipped = CommandParser.TrySkipLine(ref reader);
                    _consumed = reader.Position;
                    if (!skipped)
                        return;
                    _mode = Mode.Command;
                    Error(SmtpReplies.LineTooLong, RejectReason.LineTooLong);
                    break;
                case Mode.Data:
                    if (!await ProcessDataAsync(rest))
                        return;
                    break;
                case Mode.BdatChunk:
                    if (!await ProcessBdatAsync(rest))
                        return;
                    break;
            }
        }
    }

    private readonly record struct Line(ReadOnlySequence<byte> Text, long Length);

    private static CommandParser.LineStatus TakeLine(ReadOnlySequence<byte> buffer, int max, out Line line)
    {
        var reader = new SequenceReader<byte>(buffer);
        var status = CommandParser.TryReadLine(ref reader, max, out var text);
        line = new Line(text, reader.Consumed);
        return status;
    }

    private static string AsString(ReadOnlySequence<byte> line) => Encoding.UTF8.GetString(line);

    private void Reply(SmtpReply reply) => reply.WriteTo(_output);

    /// <summary>A refusal that counts toward the error limit; past it the session ends with 421.</summary>
    private void Error(SmtpReply reply, RejectReason reason)
    {
        _ctx.Metrics.Reject(_listener.Name, reason);
        Reply(reply);
        if (++_errors >= _limits.MaxErrors)
        {
            Reply(SmtpReplies.TooManyErrors);
            _close = true;
        }
    }

    private async Task HandleCommandAsync(ReadOnlySequence<byte> line)
    {
        var command = line.IsSingleSegment ? CommandParser.Parse(line.FirstSpan) : CommandParser.Parse(line.ToArray());
        if (command.Verb == SmtpVerb.Unknown)
        {
            Error(SmtpReplies.SyntaxError, RejectReason.UnknownCommand);
            return;
        }
        if (!SmtpStateTable.IsAllowed(_state, command.Verb))
        {
            if (command.Verb == SmtpVerb.Bdat)
                StartBdat(command.Argument, inSequence: false); // its chunk is read and dropped, then refused: the only way to stay in step
            else
                Error(SmtpStateTable.Refusal(_state, command.Verb), RejectReason.BadSequence);
            return;
        }
        bool done; // the command did its work: the session moves to the state the table gives
        switch (command.Verb)
        {
            case SmtpVerb.Ehlo or SmtpVerb.Helo:
                done = Hello(command);
                break;
            case SmtpVerb.Mail:
                done = await MailAsync(command.Argument);
                break;
            case SmtpVerb.Rcpt:
                done = await RcptAsync(command.Argument);
                break;
            case SmtpVerb.Data:
                done = StartData(command.Argument);
                break;
            case SmtpVerb.Bdat:
                done = StartBdat(command.Argument, inSequence: true);
                break;
            case SmtpVerb.Rset:
                ResetTransaction();
                Reply(SmtpReplies.Ok);
                done = true;
                break;
            case SmtpVerb.Noop:
                Reply(SmtpReplies.Ok);
                done = true;
                break;
            case SmtpVerb.Quit:
                Reply(SmtpReplies.Closing(_ctx.Hostname));
                _close = true;
                done = true;
                break;
            case SmtpVerb.Vrfy or SmtpVerb.Expn:
                Reply(command.Verb == SmtpVerb.Vrfy ? SmtpReplies.CannotVerify : SmtpReplies.ExpnNotAvailable);
                done = true;
                break;
            case SmtpVerb.Help:
                Reply(SmtpReplies.Help);
                done = true;
                break;
            case SmtpVerb.StartTls:
                done = StartTls(command.Argument);
                break;
            case SmtpVerb.Auth: // the session stays where it is, whatever comes of an exchange that may take several lines
                await AuthAsync(command.Argument);
                done = false;
                break;
            default:
                throw new UnreachableException($"{command.Verb} has a row in the state table but no handler.");
        }
        if (done)
            _state = SmtpStateTable.Next(_state, command.Verb);
    }

    private bool Hello(SmtpCommand command)
    {
        var name = command.Argument;
        if (name.Length == 0 || name.Contains(' ', StringComparison.Ordinal))
        {
            Error(command.Verb == SmtpVerb.Ehlo ? SmtpReplies.EhloSyntax : SmtpReplies.HeloSyntax, RejectReason.Syntax);
            return false;
        }
        ResetTransaction();
        _helo = PathParser.Sanitize(name);
        _esmtp = command.Verb == SmtpVerb.Ehlo;
        var greeting = $"{_ctx.Hostname} Hello {_helo} [{_remote}]";
        if (!_esmtp)
        {
            Reply(SmtpReplies.Hello(greeting));
            return true;
        }
        var lines = new StringBuilder(greeting);
        lines.Append("\nPIPELINING\nSIZE ").Append(_limits.MaxMessageSize.ToString(CultureInfo.InvariantCulture));
        lines.Append("\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nCHUNKING\nDSN");
        if (CanStartTls)
            lines.Append("\nSTARTTLS");
        if (CanAuth)
            lines.Append("\nAUTH PLAIN LOGIN");
        lines.Append("\nHELP");
        Reply(SmtpReplies.Hello(lines.ToString()));
        return true;
    }

    [LoggerMessage(1001, LogLevel.Information, "Accepted {QueueId} from [{Remote}]: {Recipients} recipient(s), {Size} bytes")]
    private static partial void LogAccepted(ILogger logger, string queueId, IPAddress remote, int recipients, long size);

    [LoggerMessage(1002, LogLevel.Error, "Could not store message {QueueId}")]
    private static partial void LogStoreFailed(ILogger logger, Exception e, string queueId);

    [LoggerMessage(1003, LogLevel.Debug, "Connection from [{Remote}] ended: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, IPAddress remote, string reason);

    [LoggerMessage(1004, LogLevel.Debug, "TLS handshake with [{Remote}] failed: {Reason}")]
    private static partial void LogTlsFailed(ILogger logger, IPAddress remote, string reason);

    [LoggerMessage(1005, LogLevel.Information, "[{Remote}] authenticated as {User}")]
    private static partial void LogAuthenticated(ILogger logger, IPAddress remote, string user);

    [LoggerMessage(1006, LogLevel.Warning, "[{Remote}] failed to authenticate as {User}")]
    private static partial void LogAuthFailed(ILogger logger, IPAddress remote, string user);

    [LoggerMessage(1007, LogLevel.Error, "{QueueId}: the header prefix changed after its content began to stream to the next hops; stored and forwarded instead")]
    private static partial void LogStreamMismatch(ILogger logger, string queueId);
}
