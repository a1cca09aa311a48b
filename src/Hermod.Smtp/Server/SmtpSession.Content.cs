// SmtpSession: a message's content — DATA and BDAT, the limits on it as it streams, and its end: the answer from
// storage, the pipeline's body stage and cut-through's next hops.
using System.Buffers;
using System.Globalization;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;
using Hermod.Smtp.StateMachine;

namespace Hermod.Smtp.Server;

public sealed partial class SmtpSession
{
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
        var filter = new DataFilter(dotStuffed, _ctx.Options.BareLineEndings, _limits.MaxTextLine, _limits.MaxHeaderSize);
        var blob = _ctx.Store.CreateBlobWriter();
        var protocol = (tx.Parameters.SmtpUtf8 ? "UTF8SMTP" : _esmtp ? "ESMTP" : "SMTP") + (_tls is null ? "" : "S") + (_authUser is null ? "" : "A");
        var context = new BodyContext(tx.QueueId, _ctx.Hostname, _helo, _remote, protocol,
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
        if (!slow && elapsed <= _ctx.Options.Timeouts.DataTotal)
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
        else if (filter.SawBareLineEnding && _ctx.Options.BareLineEndings == BareLineEndingPolicy.Reject)
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
                        // Every next hop took the message: they are responsible now (docs/architecture.md, "What a 250
                        // promises"), so the record of the delivery is written without holding up the reply.
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
}
