using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;

namespace Hermod.Storage.Postgres;

/// <summary>What accepting a message writes: its body's blob, the message, its deliveries, its history — in one commit.</summary>
public sealed partial class PostgresMessageStore
{
    /// <summary>A message on its way into the store; <see cref="Now"/> is when it was accepted (unix ms).</summary>
    private sealed record Accepted(MessageEnvelope Envelope, string HeaderPrefix, ReplacedHeader? Header, CutThroughAttempt? CutThrough, long Now)
    {
        /// <summary>Not when every next hop took the message: they are responsible, the commit need not reach the disk first.</summary>
        public bool Durable => CutThrough?.DeliveredAll(Envelope.Recipients.Count) != true;
    }

    /// <summary>The message, its recipients and its body become durable together.</summary>
    private sealed class AcceptOp(Accepted message, PostgresBlobWriter blob, IReadOnlyList<long>? clearDsn, IdempotentResponse? idempotent) : WriteOp
    {
        public override bool Durable => message.Durable;

        public override async Task ExecuteAsync(WriteContext db)
        {
            var blobId = await StoreBlobAsync(db, blob, message.Durable, message.Now);
            await InsertMessageAsync(db, message, blob, blobId);
            if (clearDsn is not null)
                foreach (var id in clearDsn)
                {
                    var kind = await db.ScalarAsync("SELECT dsn_pending FROM deliveries WHERE id = $1", id);
                    await db.ExecAsync("UPDATE deliveries SET dsn_pending = NULL WHERE id = $1", id);
                    await db.ExecAsync("INSERT INTO events (message_id, delivery_id, type, at, detail) SELECT message_id, id, 'dsn', $2, $3 FROM deliveries WHERE id = $1",
                        id, message.Now, $"{kind} notification queued as {message.Envelope.Id}");
                }
            if (idempotent is not null) // a retried request with the same key gets this response, never a second message
                await db.ExecAsync("INSERT INTO idempotency (tenant, key, request_hash, status, response, created) VALUES ($1, $2, $3, $4, $5, $6)",
                    idempotent.Tenant, idempotent.Key, idempotent.RequestHash, idempotent.Status, idempotent.Body, message.Now);
        }
    }

    /// <summary>
    /// The blob the body becomes: an equal stored one (by content hash) gains a reference and the staged copy goes;
    /// otherwise the staged row, or a new one, is the blob, and the last chunk goes with it.
    /// </summary>
    /// <param name="keyed">
    /// Whether the body is stored under its content hash. Not for a body every next hop took: no delivery reads it
    /// again, so sharing it saves little, and its key's place in the index costs a write per record.
    /// </param>
    private static async Task<long> StoreBlobAsync(WriteContext db, PostgresBlobWriter blob, bool keyed, long now)
    {
        var hash = keyed ? blob.ContentHash : null;
        if (hash is not null && await db.ScalarAsync("UPDATE blobs SET refcount = refcount + 1 WHERE hash = $1 RETURNING id", hash) is long shared)
        {
            if (blob.StagingId != 0)
            {
                await db.ExecAsync("DELETE FROM blob_chunks WHERE blob_id = $1", blob.StagingId);
                await db.ExecAsync("DELETE FROM blobs WHERE id = $1", blob.StagingId);
            }
            return shared;
        }
        long blobId;
        if (blob.StagingId == 0)
            blobId = (long)(await db.ScalarAsync("INSERT INTO blobs (hash, size, refcount, created, encoding) VALUES ($1, $2, 1, $3, $4) RETURNING id",
                hash, blob.Length, now, blob.ContentEncoding))!;
        else
        {
            blobId = blob.StagingId;
            await db.ExecAsync("UPDATE blobs SET hash = $1, size = $2, refcount = 1, encoding = $4, owner = NULL WHERE id = $3", hash, blob.Length, blobId, blob.ContentEncoding);
        }
        if (blob.Tail.Count > 0 || blob.ChunksWritten == 0)
            await db.ExecAsync("INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)", blobId, blob.ChunksWritten, blob.Tail);
        return blobId;
    }

    /// <summary>The message row, one delivery per recipient (as a cut-through attempt left it, or queued), and its events.</summary>
    private static async Task InsertMessageAsync(WriteContext db, Accepted message, PostgresBlobWriter blob, long blobId)
    {
        var (envelope, now, cutThrough) = (message.Envelope, message.Now, message.CutThrough);
        var source = envelope.Source;
        var outcomes = new RecipientOutcome?[envelope.Recipients.Count];
        foreach (var o in cutThrough?.Outcomes ?? [])
            outcomes[o.DeliveryId] = o;
        var finished = outcomes.Length > 0 && Array.TrueForAll(outcomes, o => o?.Status is AttemptStatus.Delivered or AttemptStatus.Failed);
        await db.ExecAsync(InsertMessage, MessageRows.Values(envelope, message.HeaderPrefix, message.Header, blobId, blob.DecodedLength ?? blob.Length, now, finished));
        var deliveryIds = new long[envelope.Recipients.Count];
        for (var i = 0; i < deliveryIds.Length; i++)
        {
            var rcpt = envelope.Recipients[i];
            var route = rcpt.Route ?? RouteKey.For(RouteKey.Remote, rcpt.Address).ToString();
            if (outcomes[i] is not { } o)
            {
                deliveryIds[i] = (long)(await db.ScalarAsync(
                    "INSERT INTO deliveries (message_id, recipient, route, notify, orcpt, state, due_at) VALUES ($1, $2, $3, $4, $5, 'queued', $6) RETURNING id",
                    envelope.Id, rcpt.Address, route, (int)rcpt.Notify, rcpt.OriginalRecipient, now))!;
                continue;
            }
            var (state, due, dsn, delayWarned) = MessageRows.OutcomeColumns(o, cutThrough!.Ended);
            var reply = o.Reply;
            deliveryIds[i] = (long)(await db.ScalarAsync("""
                INSERT INTO deliveries (message_id, recipient, route, notify, orcpt, state, attempts, due_at, last_remote, last_code, last_enhanced, last_text, dsn_pending, delay_warned)
                VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $11, $12, $13) RETURNING id
                """,
                envelope.Id, rcpt.Address, route, (int)rcpt.Notify, rcpt.OriginalRecipient, state, due, reply.RemoteHost, reply.Reply.Code, reply.Reply.Enhanced.ToString(),
                reply.Reply.Text, dsn, delayWarned))!;
            if (dsn is not null)
                db.Notify(DsnChannel);
        }
        await db.ExecAsync("INSERT INTO events (message_id, type, at, detail) VALUES ($1, 'accepted', $2, $3)",
            envelope.Id, now, $"from [{source.ClientAddress}] via {source.Listener}");
        if (envelope.QuarantineReason is { } reason) // why it waits for an operator: the API's events and queue show tell
            await db.ExecAsync("INSERT INTO events (message_id, type, at, detail) VALUES ($1, 'quarantined', $2, $3)", envelope.Id, now, reason);
        foreach (var o in cutThrough?.Outcomes ?? []) // the first attempt, made while the client waited
            await AttemptHistoryAsync(db, envelope.Id, deliveryIds[o.DeliveryId], MessageRows.OutcomeColumns(o, cutThrough!.Ended).State, o.Reply,
                cutThrough.Started.ToUnixTimeMilliseconds(), cutThrough.Ended.ToUnixTimeMilliseconds());
        if (QueuesWork(envelope, cutThrough))
            db.Notify(QueueChannel);
        db.Notify(EventsChannel);
    }

    private const string InsertMessage = $"INSERT INTO messages ({MessageRows.InsertColumns}) VALUES " +
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)";
}
