using System.Net;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Routing;
using Hermod.Smtp.Client;

namespace Hermod.Delivery.Transport;

/// <summary>
/// One SMTP transaction run step by step while a client waits (cut-through), begun by
/// <see cref="SmtpTransport.BeginAsync"/>: MAIL and the first recipient went through at <see cref="Hop"/> (or MAIL did
/// not: <see cref="Failure"/>), then <see cref="RcptAsync"/> for each further recipient, <see cref="OpenData"/> when the
/// content is on its way, <see cref="DataAsync"/> once, and <see cref="CompleteAsync"/> or <see cref="AbortAsync"/>. Failures are replies (code 0 when no server answered), never exceptions; only
/// cancellation and a failing content source throw. The connection goes back to the transport's idle pool when the
/// transaction ends with it usable, and is closed on every other path. One operation at a time;
/// <see cref="AbortAsync"/> may come while one runs, and interrupts it.
/// </summary>
public sealed class InteractiveSmtp : IAsyncDisposable
{
    /// <summary>How long ending waits for an interrupted operation before leaving the connection to it.</summary>
    private static readonly TimeSpan EndWait = TimeSpan.FromSeconds(30);

    private readonly SmtpTransport? _transport;
    private readonly (IPEndPoint, OutboundTls, string?) _key;
    private readonly string _messageId = "";
    private readonly bool _smtpUtf8;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _abort = new();
    private readonly List<int> _accepted = [];
    private SmtpClientConnection? _connection;
    private UpstreamReply? _closed; // why no command can go any more (a 421, a broken connection)
    private int _recipients;
    private bool _open; // MAIL accepted and the content not sent: RSET before the connection is reused
    private bool _contentSent;
    private int _ended;
    private Task? _opening; // OpenData's DATA, which DataAsync waits for

    private InteractiveSmtp(SmtpTransport transport, (IPEndPoint, OutboundTls, string?) key, NextHop hop, SmtpClientConnection connection,
        string messageId, bool smtpUtf8, UpstreamReply first)
    {
        _transport = transport;
        _key = key;
        _connection = connection;
        _messageId = messageId;
        _smtpUtf8 = smtpUtf8;
        _open = true;
        _recipients = 1;
        Hop = hop;
        First = first;
        DsnSupported = connection.Capabilities.Dsn;
        if (first.Reply.Code is >= 200 and < 300)
            _accepted.Add(0);
    }

    private InteractiveSmtp(UpstreamReply failure)
    {
        Failure = failure;
        First = failure;
        _ended = 1;
    }

    internal static InteractiveSmtp Failed(UpstreamReply failure) => new(failure);

    /// <summary>A transaction whose MAIL <paramref name="hop"/> accepted; <paramref name="first"/> answered the first recipient (a 421 closes it).</summary>
    internal static async Task<InteractiveSmtp> OpenedAsync(SmtpTransport transport, (IPEndPoint, OutboundTls, string?) key, NextHop hop,
        SmtpClientConnection connection, string messageId, bool smtpUtf8, UpstreamReply first)
    {
        var transaction = new InteractiveSmtp(transport, key, hop, connection, messageId, smtpUtf8, first);
        if (!connection.IsUsable)
        {
            transaction._closed = first;
            await transaction.DropAsync();
        }
        return transaction;
    }

    /// <summary>A recipient the transaction cannot carry (<see cref="SmtpClientConnection.RcptRefusal"/>), refused before sending: code 0, 5.6.7.</summary>
    internal static UpstreamReply? Unsendable(EnvelopeRecipient recipient, bool smtpUtf8, NextHop hop) =>
        SmtpClientConnection.RcptRefusal(recipient, smtpUtf8) is { } refusal ? SmtpTransport.Local(hop, refusal) : null;

    /// <summary>The host that accepted MAIL; null when <see cref="Failure"/> is set.</summary>
    public NextHop? Hop { get; }

    /// <summary>
    /// Why MAIL did not go through — no hop could be reached (code 0), the last hop's refusal (mapped as
    /// <see cref="SmtpTransport.SendAsync"/> maps it), a local refusal, or the route's failure; null when it did.
    /// With a failure, <see cref="RcptAsync"/> returns it and there is no connection.
    /// </summary>
    public UpstreamReply? Failure { get; }

    /// <summary>The server offers DSN (RFC 3461): NOTIFY / ORCPT went with the recipients.</summary>
    public bool DsnSupported { get; }

    /// <summary>The answer to the first recipient, given with MAIL (recipient 0): the server's reply as <see cref="RcptAsync"/> gives it, or <see cref="Failure"/>.</summary>
    public UpstreamReply First { get; }

    /// <summary>
    /// RCPT TO for one more recipient; returns the server's reply as an upstream reply. Recipients are numbered in the
    /// order of the calls, from 1 (0 is the first, given to <see cref="SmtpTransport.BeginAsync"/>; the keys of
    /// <see cref="DataAsync"/>). After a 421 or a broken connection every later call returns that reply (a broken one
    /// as code 0 with 4.4.1, or 4.4.2 after a timeout; after a cancelled call, 4.4.1); with <see cref="Failure"/> set,
    /// that failure. A non-ASCII address in a transaction without SMTPUTF8 is refused locally (code 0, 5.6.7).
    /// </summary>
    public async Task<UpstreamReply> RcptAsync(EnvelopeRecipient recipient, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        var index = Interlocked.Increment(ref _recipients) - 1;
        if (Failure is { } failure)
            return failure;
        if (Unsendable(recipient, _smtpUtf8, Hop!) is { } unsendable)
            return unsendable;
        await EnterAsync(ct);
        try
        {
            if (_closed is { } closed)
                return closed;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _abort.Token);
            SmtpReply reply;
            try
            {
                reply = await _connection!.RcptAsync(recipient, linked.Token);
            }
            catch (SmtpClientException e)
            {
                return await BrokeAsync(e);
            }
            catch
            {
                await InterruptedAsync(); // cancelled or aborted: the connection is out of step
                throw;
            }
            var upstream = SmtpTransport.Upstream(Hop!, reply);
            if (reply.Code is >= 200 and < 300)
                _accepted.Add(index);
            else if (!_connection.IsUsable) // a 421
            {
                _closed = upstream;
                await DropAsync();
            }
            return upstream;
        }
        finally
        {
            await ExitAsync();
        }
    }

    /// <summary>
    /// The content is on its way (the client is sending it): DATA goes now, so that <see cref="DataAsync"/> costs one
    /// round trip less when the content is complete. Nothing to do without an accepted recipient or with CHUNKING
    /// (BDAT carries the content). Never throws and returns at once; what goes wrong is <see cref="DataAsync"/>'s
    /// answer. An abort from now on closes the connection (after a 354 it cannot be reset). Once.
    /// </summary>
    public void OpenData()
    {
        if (_opening is null && Failure is null && _accepted.Count > 0 && Volatile.Read(ref _ended) == 0)
            _opening = OpenDataAsync();
    }

    private async Task OpenDataAsync()
    {
        try
        {
            await EnterAsync(CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            return; // ended meanwhile
        }
        try
        {
            if (_closed is not null || _connection is null || _contentSent)
                return;
            var reply = await _connection.OpenDataAsync(_abort.Token);
            if (reply is not null && !_connection.IsUsable) // a 421
            {
                _closed = SmtpTransport.Upstream(Hop!, reply);
                await DropAsync();
            }
        }
        catch (SmtpClientException e)
        {
            await BrokeAsync(e);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            await InterruptedAsync();
        }
        finally
        {
            await ExitAsync();
        }
    }

    /// <summary>
    /// Sends the content — BDAT with CHUNKING, else DATA (sent already by <see cref="OpenData"/>, maybe) — and returns the final reply for each recipient accepted at
    /// RCPT (by its <see cref="RcptAsync"/> index); empty when none was. A connection that breaks on the way gives
    /// code 0 with 4.4.1 (4.4.2 after a timeout) to each, and is closed; when the end of the content had been sent,
    /// the server may have taken the message, so no other host may be tried for it (retry later: a temporary failure).
    /// Once per transaction. A failing <paramref name="writeContent"/> has its exception passed through (connection closed).
    /// </summary>
    /// <param name="writeContent">Writes the message (header and body, CRLF line endings, not dot-stuffed).</param>
    public async Task<IReadOnlyDictionary<int, UpstreamReply>> DataAsync(Func<Stream, CancellationToken, Task> writeContent, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(writeContent);
        var replies = new Dictionary<int, UpstreamReply>();
        if (Failure is not null)
            return replies;
        if (_opening is { } opening)
            await opening.WaitAsync(ct);
        await EnterAsync(ct);
        try
        {
            if (_contentSent)
                throw new InvalidOperationException("The content of this transaction was sent already");
            _contentSent = true;
            if (_accepted.Count == 0)
                return replies;
            UpstreamReply reply;
            if (_closed is { } closed)
                reply = closed;
            else
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _abort.Token);
                try
                {
                    var (final, _) = await _connection!.ContentAsync(writeContent, linked.Token);
                    _open = false;
                    reply = SmtpTransport.Upstream(Hop!, final);
                }
                catch (SmtpClientException e)
                {
                    reply = await BrokeAsync(e);
                }
                catch
                {
                    await InterruptedAsync(); // cancelled, aborted or the content source failed: the connection is out of step
                    throw;
                }
                if (_connection is { IsUsable: false }) // a 421
                {
                    _closed = reply;
                    await DropAsync();
                }
            }
            foreach (var index in _accepted)
                replies[index] = reply;
            return replies;
        }
        finally
        {
            await ExitAsync();
        }
    }

    /// <summary>Ends the transaction: the connection goes back to the idle pool when usable (after RSET if the content was not sent), else is closed. Idempotent.</summary>
    public Task CompleteAsync() => EndAsync(abort: false);

    /// <summary>Gives the transaction up: interrupts a running operation; RSET and back to the pool when usable, else closed. Idempotent.</summary>
    public Task AbortAsync() => EndAsync(abort: true);

    /// <summary>Aborts unless <see cref="CompleteAsync"/> or <see cref="AbortAsync"/> came first.</summary>
    public async ValueTask DisposeAsync() => await EndAsync(abort: true);

    private async Task EndAsync(bool abort)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
            return;
        if (abort)
            await _abort.CancelAsync();
        if (!await _gate.WaitAsync(EndWait))
        {
            await _abort.CancelAsync(); // the running operation closes the connection when it ends (ExitAsync)
            return;
        }
        try
        {
            if (Interlocked.Exchange(ref _connection, null) is { } connection)
                await _transport!.ReleaseAsync(_key, connection, reset: _open);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task EnterAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _ended) != 0)
            throw new InvalidOperationException("The transaction has ended");
        if (!await _gate.WaitAsync(0, ct))
            throw new InvalidOperationException("An interactive SMTP transaction runs one operation at a time");
        if (Volatile.Read(ref _ended) != 0)
        {
            _gate.Release();
            throw new InvalidOperationException("The transaction has ended");
        }
    }

    private async Task ExitAsync()
    {
        if (Volatile.Read(ref _ended) != 0)
            await DropAsync(); // ended while this ran, and the end gave up waiting for it
        _gate.Release();
    }

    /// <summary>The conversation broke: the connection is closed, and this reply answers the step and every later one.</summary>
    private async Task<UpstreamReply> BrokeAsync(SmtpClientException e)
    {
        var reply = SmtpTransport.Broke(Hop!, e);
        if (e.MayHaveBeenDelivered)
            reply = reply with { Reply = reply.Reply with { Text = reply.Reply.Text + " (the message may have been delivered)" } };
        _closed = reply;
        _transport!.HopFailed(_messageId, Hop!, reply);
        await DropAsync();
        return reply;
    }

    /// <summary>An operation ended by an exception that is not the server's doing: the connection is closed, later steps get 4.4.1.</summary>
    private async Task InterruptedAsync()
    {
        _closed ??= UpstreamReply.NoReply(Hop!.Name, new(4, 4, 1), $"{Hop.Name} [{Hop.EndPoint}]: the transaction was interrupted");
        await DropAsync();
    }

    private async Task DropAsync()
    {
        if (Interlocked.Exchange(ref _connection, null) is { } connection)
            await connection.DisposeAsync();
    }
}
