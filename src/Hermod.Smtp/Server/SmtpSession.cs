using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Core.Text;
using Hermod.Smtp.Protocol;
using Hermod.Smtp.StateMachine;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Hermod.Smtp.Server;

/// <summary>
/// One SMTP session: a single read loop that parses every complete command in the buffer, answers into the
/// output pipe and flushes once per batch (PIPELINING). Message content streams through <see cref="DataFilter"/>
/// into the blob store; the 250 for a message is written only after the store made it durable.
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
        _limits = ctx.Options.Smtp.Limits;
        _transport = transport;
        _remote = remote;
        _stopping = stopping;
        _input = transport.Input;
        _output = transport.Output;
        _pipeline = ctx.Pipelines.For(listener.Pipeline);
    }

    private SessionInfo Session => new(_listener.Name, _remote, _helo, _authUser, _tls is not null);

    private string TlsProtocol => _tls is null ? "" : $"{_tls.SslProtocol}";

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
            Reply(SmtpReplies.Greeting(_ctx.Options.Hostname));
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
        var timeout = _mode is Mode.Data or Mode.BdatChunk ? _ctx.Options.Smtp.Timeouts.DataBlock : _ctx.Options.Smtp.Timeouts.Command;
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
                Reply(SmtpReplies.Closing(_ctx.Options.Hostname));
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
            default: // AUTH: the session stays where it is, whatever comes of an exchange that may take several lines
                await AuthAsync(command.Argument);
                done = false;
                break;
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
        var greeting = $"{_ctx.Options.Hostname} Hello {_helo} [{_remote}]";
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

    private bool CanStartTls => _listener.Tls == TlsMode.StartTls && _tls is null && _ctx.Certificate is not null;

    private bool CanAuth => _listener.Auth != AuthMode.None && _authUser is null && (_tls is not null || _listener.AllowPlaintextAuth);

    private async Task<bool> MailAsync(string argument)
    {
        if (_listener.Auth == AuthMode.Required && _authUser is null)
        {
            Error(SmtpReplies.AuthRequired, RejectReason.AuthRequired);
            return false;
        }
        if (!PathParser.TrySplit(argument, "FROM:", out var path, out var parameters, out var syntax))
        {
            Error(SmtpReplies.PathSyntax(syntax), RejectReason.Syntax);
            return false;
        }
        var mailbox = "";
        if (path.Length > 0 && !PathParser.TryParseMailbox(path, out mailbox, out var why))
        {
            Error(SmtpReplies.BadSender(why), RejectReason.BadSender);
            return false;
        }
        if (!MailParameters.TryParse(parameters, out var mail, out var bad))
        {
            Error(bad, RejectReason.Syntax);
            return false;
        }
        if (mail.Size > _limits.MaxMessageSize)
        {
            _ctx.Metrics.Reject(_listener.Name, RejectReason.Size);
            Reply(SmtpReplies.MessageTooBig);
            return false;
        }
        if (!mail.SmtpUtf8 && !PathParser.IsAscii(mailbox))
        {
            Error(SmtpReplies.NonAsciiWithoutSmtpUtf8, RejectReason.SmtpUtf8);
            return false;
        }
        var tx = _pipeline.Begin(Session, _connection);
        if (await tx.MailAsync(mailbox, _stopping) is { } refused)
        {
            _ctx.Metrics.Reject(_listener.Name, RejectReason.Policy);
            Reply(refused);
            return false;
        }
        var id = QueueId.New(_ctx.Time);
        var cut = _ctx.CutThrough?.Begin(new CutThroughStart(id, tx.Sender,
            new MessageSource(_listener.Name, _remote, _helo, _authUser, _tls is null ? null : TlsProtocol),
            mail.Body, mail.SmtpUtf8, mail.Ret, mail.EnvelopeId, mail.Size ?? 0, _listener.Role == ListenerRole.Submission, _listener.CutThrough));
        _tx = _transaction ??= new SmtpTransaction();
        _tx.Begin(id, tx, mail, cut);
        Reply(SmtpReplies.SenderOk);
        return true;
    }

    private async Task<bool> RcptAsync(string argument)
    {
        var tx = _tx!;
        if (tx.Recipients.Count >= _limits.MaxRecipients)
        {
            _ctx.Metrics.Reject(_listener.Name, RejectReason.TooManyRecipients);
            Reply(SmtpReplies.TooManyRecipients);
            return false;
        }
        if (!PathParser.TrySplit(argument, "TO:", out var path, out var parameters, out var syntax))
        {
            Error(SmtpReplies.PathSyntax(syntax), RejectReason.Syntax);
            return false;
        }
        string mailbox;
        string domain;
        if (path.Equals("postmaster", StringComparison.OrdinalIgnoreCase)) // RFC 5321 4.1.1.3
        {
            mailbox = "postmaster";
            domain = _ctx.Options.Hostname;
        }
        else if (PathParser.TryParseMailbox(path, out mailbox, out var why))
            domain = mailbox[(mailbox.LastIndexOf('@') + 1)..];
        else
        {
            Error(SmtpReplies.BadRecipient(why), RejectReason.BadRecipient);
            return false;
        }
        if (!RcptParameters.TryParse(parameters, out var rcpt, out var bad))
        {
            Error(bad, RejectReason.Syntax);
            return false;
        }
        if (!tx.Parameters.SmtpUtf8 && !PathParser.IsAscii(mailbox))
        {
            Error(SmtpReplies.NonAsciiWithoutSmtpUtf8, RejectReason.SmtpUtf8);
            return false;
        }
        if (_authUser is null && mailbox != "postmaster" && !_ctx.LocalDomains.Contains(domain))
        {
            Error(SmtpReplies.RelayDenied, RejectReason.RelayDenied);
            return false;
        }
        var recipient = new EnvelopeRecipient(mailbox, rcpt.Notify, rcpt.OriginalRecipient);
        var pipeline = tx.Pipeline;
        var first = pipeline.Recipients.Count;
        if (await pipeline.RcptAsync(recipient, _stopping) is { } refused)
        {
            _ctx.Metrics.Reject(_listener.Name, RejectReason.Policy);
            Reply(refused);
            return false;
        }
        if (tx.CutThrough is not null && await tx.CutThrough.AddRecipientAsync([.. pipeline.Recipients.Skip(first)], first, _stopping) is { } upstream)
        {
            pipeline.DropRecipientsFrom(first);
            _ctx.Metrics.Reject(_listener.Name, RejectReason.Upstream);
            Reply(upstream);
            return false;
        }
        tx.AddRecipient(recipient);
        Reply(SmtpReplies.RecipientOk);
        return true;
    }

    /// <summary>The transaction is over, or there was none: what it holds goes.</summary>
    private void ResetTransaction()
    {
        _tx?.Dispose();
        _tx = null;
    }

    private bool StartData(string argument)
    {
        if (argument.Length > 0)
        {
            Error(SmtpReplies.DataTakesNoArguments, RejectReason.Syntax);
            return false;
        }
        BeginContent(dotStuffed: true);
        _mode = Mode.Data;
        Reply(SmtpReplies.StartData);
        return true;
    }

    private void BeginContent(bool dotStuffed)
    {
        var tx = _tx!;
        var filter = new DataFilter(dotStuffed, _ctx.Options.Smtp.BareLineEndings, _limits.MaxTextLine, _limits.MaxHeaderSize);
        var blob = _ctx.Store.CreateBlobWriter();
        var protocol = (tx.Parameters.SmtpUtf8 ? "UTF8SMTP" : _esmtp ? "ESMTP" : "SMTP") + (_tls is null ? "" : "S") + (_authUser is null ? "" : "A");
        var context = new BodyContext(tx.QueueId, _ctx.Options.Hostname, _helo, _remote, protocol,
            _tls is null ? null : $"using {TlsProtocol} with cipher {_tls.NegotiatedCipherSuite}", [.. tx.Recipients.Select(r => r.Address)], _ctx.Time.GetUtcNow());
        tx.BeginContent(filter, blob, new BodySink(_pipeline.Processors, context, blob, _ctx.Logger), _ctx.Time.GetTimestamp());
    }

    /// <summary>Feeds DATA content to the filter; true when the end of data was reached and answered.</summary>
    private async Task<bool> ProcessDataAsync(ReadOnlySequence<byte> rest)
    {
        var tx = _tx!;
        var filter = tx.Filter!;
        foreach (var segment in rest)
        {
            var used = filter.Process(segment.Span, tx.BodyTarget);
            _consumed = rest.GetPosition(used, _consumed);
            tx.ContentBytes += used;
            if (filter.Completed)
                break;
        }
        tx.CheckSize(_limits.MaxMessageSize);
        await tx.FlushContentAsync(_stopping);
        if (filter.Completed)
        {
            _mode = Mode.Command;
            await FinishMessageAsync();
            return true;
        }
        return CheckDataRate();
    }

    /// <summary>False (and a 421) when the client is below the minimum data rate or over the total data time.</summary>
    private bool CheckDataRate()
    {
        var elapsed = _ctx.Time.GetElapsedTime(_tx!.ContentStarted);
        var slow = _limits.MinDataRate > 0 && elapsed > _limits.MinDataRateGrace && _tx.ContentBytes / elapsed.TotalSeconds < _limits.MinDataRate;
        if (!slow && elapsed <= _ctx.Options.Smtp.Timeouts.DataTotal)
            return false;
        _ctx.Metrics.Reject(_listener.Name, RejectReason.DataRate);
        Reply(SmtpReplies.TooSlow);
        _close = true;
        return false;
    }

    /// <summary>
    /// A BDAT command: its chunk is read next, into the message when <paramref name="inSequence"/>, else dropped and
    /// then refused. True when it begins or goes on with a message.
    /// </summary>
    private bool StartBdat(string argument, bool inSequence)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || (parts.Length == 2 && !parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase)))
        {
            // Without a valid size the chunk cannot be skipped: the session cannot be trusted to stay in step.
            Error(SmtpReplies.BdatSyntax, RejectReason.Syntax);
            Reply(SmtpReplies.BdatOutOfStep);
            _close = true;
            return false;
        }
        _bdatRemaining = size;
        _bdatLast = parts.Length == 2;
        _mode = Mode.BdatChunk;
        _bdatRefused = !inSequence;
        if (_bdatRefused)
            return false;
        if (_state == SmtpState.RcptGiven)
            BeginContent(dotStuffed: false);
        return true;
    }

    private async Task<bool> ProcessBdatAsync(ReadOnlySequence<byte> rest)
    {
        var take = Math.Min(rest.Length, _bdatRemaining);
        var chunk = rest.Slice(0, take);
        _consumed = chunk.End;
        _bdatRemaining -= take;
        if (!_bdatRefused)
        {
            var tx = _tx!;
            foreach (var segment in chunk)
                tx.Filter!.Process(segment.Span, tx.BodyTarget);
            tx.ContentBytes += take;
            tx.CheckSize(_limits.MaxMessageSize);
            await tx.FlushContentAsync(_stopping);
        }
        if (_bdatRemaining > 0)
            return !_bdatRefused && CheckDataRate();

        _mode = Mode.Command;
        if (_bdatRefused)
            Error(SmtpStateTable.Refusal(_state, SmtpVerb.Bdat), RejectReason.BadSequence);
        else if (_bdatLast)
        {
            _tx!.Filter!.Finish(_tx.BodyTarget);
            await FinishMessageAsync();
        }
        else if (_tx!.TooBig)
        {
            Reject(SmtpReplies.MessageTooBig, RejectReason.Size);
        }
        else
            Reply(SmtpReplies.OctetsReceived(take));
        return true;
    }

    /// <summary>The message is refused: the transaction is over.</summary>
    private void Reject(SmtpReply reply, RejectReason reason)
    {
        _ctx.Metrics.Reject(_listener.Name, reason);
        Reply(reply);
        EndMessage();
    }

    /// <summary>The message is answered, accepted or refused: the transaction is over.</summary>
    private void EndMessage()
    {
        ResetTransaction();
        _state = SmtpStateTable.AfterMessage(_state);
    }

    private async Task FinishMessageAsync()
    {
        var tx = _tx!;
        var filter = tx.Filter!;
        tx.CheckSize(_limits.MaxMessageSize);
        if (tx.TooBig)
            Reject(SmtpReplies.MessageTooBig, RejectReason.Size);
        else if (filter.SawBareLineEnding && _ctx.Options.Smtp.BareLineEndings == BareLineEndingPolicy.Reject)
            Reject(SmtpReplies.BareLineEnding, RejectReason.BareLineEnding);
        else if (filter.LineTooLong)
            Reject(SmtpReplies.TextLineTooLong, RejectReason.LineTooLong);
        else if (filter.HeaderTooLarge)
            Reject(SmtpReplies.HeaderTooBig, RejectReason.HeaderTooLarge);
        else
        {
            var id = tx.QueueId;
            var (processorRefusal, prefix) = tx.Sink!.Complete();
            if (processorRefusal is not null)
            {
                Reject(processorRefusal, RejectReason.Policy);
                return;
            }
            var source = new MessageSource(_listener.Name, _remote, _helo, _authUser, _tls is null ? null : TlsProtocol);
            var blob = tx.TakeBlob();
            SmtpReply? delivered = null;
            var blobOwned = true; // false once a record still being written holds it
            try
            {
                try
                {
                    var pipeline = tx.Pipeline;
                    var decision = await pipeline.BodyAsync(blob, _stopping);
                    if (decision.Refusal is { } refused)
                    {
                        Reject(refused, RejectReason.Policy);
                        return;
                    }
                    if (pipeline.Recipients.Count == 0) // every recipient's copy was discarded by configuration
                    {
                        Reply(SmtpReplies.Discarded);
                        EndMessage();
                        return;
                    }
                    var headerPrefix = prefix + decision.AddedFields;
                    CutThroughOutcome? cut = null;
                    if (tx.Streamed is not null && headerPrefix != tx.StreamedPrefix)
                    {
                        // Cannot happen when the pipeline says what it will add before the body: the stored copy and the
                        // streamed one would differ. The next hops are cut off; the message is stored and forwarded.
                        LogStreamMismatch(_ctx.Logger, id);
                        tx.Streamed.Fail();
                    }
                    if (tx.CutThrough is not null)
                    {
                        cut = await tx.CutThrough.DataAsync(PendingContent.Writer(headerPrefix, decision.Header, blob), filter.Length, pipeline.Recipients, _stopping);
                        if (cut.Refusal is { } upstream) // every next hop refused alike: theirs is the answer, nothing is kept
                        {
                            Reject(upstream, RejectReason.Upstream);
                            return;
                        }
                    }
                    var mail = tx.Parameters;
                    var envelope = new MessageEnvelope(id, tx.Sender, pipeline.Recipients, source, mail.Body, mail.SmtpUtf8, mail.Ret, mail.EnvelopeId,
                        QuarantineReason: decision.QuarantineReason);
                    var record = _ctx.Store.AcceptAsync(envelope, headerPrefix, blob, CancellationToken.None, decision.Header, cut?.Attempt);
                    delivered = cut?.Delivered;
                    if (delivered is null)
                        await record;
                    else
                    {
                        // Every next hop took the message: they are responsible now (DESIGN.md invariant 1), so the
                        // record of the delivery is written without holding up the reply.
                        blobOwned = false;
                        _ = RecordDeliveredAsync(record, blob, id);
                    }
                }
                finally
                {
                    if (blobOwned)
                        await blob.DisposeAsync();
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogStoreFailed(_ctx.Logger, e, id);
                Reject(SmtpReply.LocalError, RejectReason.Storage);
                return;
            }
            _ctx.Metrics.MessagesAccepted.Add(1, new KeyValuePair<string, object?>("listener", _listener.Name));
            _ctx.Metrics.BytesAccepted.Add(filter.Length, new KeyValuePair<string, object?>("listener", _listener.Name));
            LogAccepted(_ctx.Logger, id, _remote, tx.Recipients.Count, filter.Length);
            Reply(delivered ?? SmtpReplies.Queued(id));
            EndMessage();
        }
    }

    /// <summary>Finishes the record of a message every next hop took (the client already has its answer); never throws.</summary>
    private async Task RecordDeliveredAsync(Task record, IBlobWriter blob, string id)
    {
        try
        {
            await record;
        }
        catch (Exception e)
        {
            LogStoreFailed(_ctx.Logger, e, id); // delivered all the same: only Hermod's record of it is missing
        }
        finally
        {
            await blob.DisposeAsync();
        }
    }

    private bool StartTls(string argument)
    {
        if (argument.Length > 0)
            Error(SmtpReplies.StartTlsTakesNoArguments, RejectReason.Syntax);
        else if (!CanStartTls)
            Error(_tls is null ? SmtpReplies.TlsNotAvailable : SmtpReplies.TlsAlreadyActive, RejectReason.StartTls);
        else
        {
            Reply(SmtpReplies.ReadyForTls);
            _startTls = true; // the handshake follows once the reply is out; nothing more is read in plaintext
            return true;
        }
        return false;
    }

    private async Task<bool> StartTlsAsync(CancellationToken aborted)
    {
        var certificate = _ctx.Certificate;
        if (certificate is null)
            return false;
        var tls = new SslStream(new DuplexPipeStream(_transport), leaveInnerStreamOpen: false);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timer.CancelAfter(_ctx.Options.Smtp.Timeouts.TlsHandshake);
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, timer.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            LogTlsFailed(_ctx.Logger, _remote, e.Message);
            await tls.DisposeAsync();
            return false;
        }
        _tls = tls;
        _input = PipeReader.Create(tls);
        _output = PipeWriter.Create(tls);
        // RFC 3207 4.2: everything learned before TLS is forgotten (STARTTLS took the session back to Connected).
        ResetTransaction();
        _helo = "";
        _mode = Mode.Command;
        return true;
    }

    private async Task AuthAsync(string argument)
    {
        if (_listener.Auth == AuthMode.None)
        {
            Error(SmtpReplies.AuthNotAvailable, RejectReason.Auth);
            return;
        }
        if (_authUser is not null)
        {
            Error(SmtpReplies.AlreadyAuthenticated, RejectReason.Auth);
            return;
        }
        if (_tls is null && !_listener.AllowPlaintextAuth)
        {
            Error(SmtpReplies.EncryptionRequired, RejectReason.AuthWithoutTls);
            return;
        }
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2)
        {
            Error(SmtpReplies.AuthSyntax, RejectReason.Syntax);
            return;
        }
        _authMechanism = parts[0].ToUpperInvariant();
        _authLoginUser = null;
        var initial = parts.Length == 2 ? parts[1] : null;
        switch (_authMechanism)
        {
            case "PLAIN" when initial is null:
                _mode = Mode.AuthResponse;
                Reply(SmtpReplies.PlainChallenge);
                break;
            case "PLAIN":
                await CompletePlainAsync(initial);
                break;
            case "LOGIN" when initial is null:
                _mode = Mode.AuthResponse;
                Reply(SmtpReplies.UsernameChallenge);
                break;
            case "LOGIN":
                await HandleAuthResponseAsync(initial);
                break;
            default:
                Error(SmtpReplies.UnknownMechanism, RejectReason.Auth);
                break;
        }
    }

    private async Task HandleAuthResponseAsync(string response)
    {
        _mode = Mode.Command;
        if (response == "*")
        {
            Error(SmtpReplies.AuthCancelled, RejectReason.Auth);
            return;
        }
        if (_authMechanism == "PLAIN")
        {
            await CompletePlainAsync(response);
            return;
        }
        if (!TryBase64(response, out var text))
        {
            Error(SmtpReplies.CannotDecode, RejectReason.Auth);
            return;
        }
        if (_authLoginUser is null)
        {
            _authLoginUser = text;
            _mode = Mode.AuthResponse;
            Reply(SmtpReplies.PasswordChallenge);
            return;
        }
        await VerifyAsync(_authLoginUser, text);
    }

    private async Task CompletePlainAsync(string response)
    {
        // authzid NUL authcid NUL passwd (RFC 4616); an authzid other than the authcid is not allowed.
        string[] fields;
        if (response == "=")
            fields = [];
        else if (!TryBase64(response, out var text) || (fields = text.Split('\0')).Length != 3)
        {
            Error(SmtpReplies.CannotDecode, RejectReason.Auth);
            return;
        }
        if (fields.Length != 3 || (fields[0].Length > 0 && fields[0] != fields[1]))
        {
            Error(SmtpReplies.AuthFailed, RejectReason.AuthFailed);
            return;
        }
        await VerifyAsync(fields[1], fields[2]);
    }

    private async Task VerifyAsync(string user, string password)
    {
        var passwords = _ctx.Passwords;
        if (await Task.Run(() => passwords.Verify(user, password)))
        {
            _authUser = user;
            LogAuthenticated(_ctx.Logger, _remote, user);
            Reply(SmtpReplies.AuthOk);
        }
        else
        {
            LogAuthFailed(_ctx.Logger, _remote, PathParser.Sanitize(user));
            Error(SmtpReplies.AuthFailed, RejectReason.AuthFailed);
        }
    }

    private static bool TryBase64(string s, out string text)
    {
        text = "";
        var bytes = new byte[s.Length];
        if (!Convert.TryFromBase64String(s, bytes, out var n))
            return false;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes, 0, n);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
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
