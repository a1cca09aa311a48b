using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;
using Npgsql;

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
            await InsertMessageAsync(db, message, blob);
            if (clearDsn is not null)
                foreach (var id in clearDsn)
                {
                    var kind = await db.ScalarAsync("SELECT dsn_pending FROM deliveries WHERE id = $1", id);
                    db.Queue("UPDATE deliveries SET dsn_pending = NULL WHERE id = $1", id);
                    db.Queue("INSERT INTO events (message_id, delivery_id, type, at, detail) SELECT message_id, id, 'dsn', $2, $3 FROM deliveries WHERE id = $1",
                        id, message.Now, $"{kind} notification queued as {message.Envelope.Id}");
                }
            if (idempotent is not null) // a retried request with the same key gets this response, never a second message
                db.Queue("INSERT INTO idempotency (tenant, key, request_hash, status, response, created) VALUES ($1, $2, $3, $4, $5, $6)",
                    idempotent.Tenant, idempotent.Key, idempotent.RequestHash, idempotent.Status, idempotent.Body, message.Now);
        }
    }

    /// <summary>
    /// The message row and the blob its body becomes, in one statement whose result nobody waits for: an equal stored
    /// blob (by content hash) gains a reference; otherwise a new one is made with the body as its one chunk. A body staged
    /// in chunks (a large one) is made a blob first, which takes round trips of its own.
    /// </summary>
    /// <remarks>
    /// Two nodes storing an equal new body at once: the second's insert waits for the first's commit and then counts a
    /// reference, but its snapshot, taken before, does not see the first's chunk, so it adds one again, which the primary
    /// key refuses; the batch runs again op by op, and the second run sees the chunk.
    /// </remarks>
    private static async Task InsertMessageAsync(WriteContext db, Accepted message, PostgresBlobWriter blob)
    {
        var keyed = message.Durable; // see StoreStagedAsync
        if (blob.StagingId != 0)
            InsertMessage(db, message, blob, "b AS (SELECT $20::bigint AS id)", await StoreStagedAsync(db, blob, keyed, message.Now));
        else
            InsertMessage(db, message, blob, """
                b AS (INSERT INTO blobs (hash, size, refcount, created, encoding) VALUES ($20, $21, 1, $22, $23)
                      ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + 1 RETURNING id),
                c AS (INSERT INTO blob_chunks (blob_id, seq, data) SELECT id, 0, $24 FROM b WHERE NOT EXISTS (SELECT 1 FROM blob_chunks x WHERE x.blob_id = b.id))
                """, keyed ? blob.ContentHash : null, blob.Length, message.Now, blob.ContentEncoding, blob.Tail);
    }

    /// <summary>
    /// The message row, its blob's id the <c>id</c> of <c>b</c>, one of the common table expressions <paramref name="with"/>
    /// (their parameters from $20, given in <paramref name="blobValues"/>); then its deliveries and events.
    /// </summary>
    private static void InsertMessage(WriteContext db, Accepted message, PostgresBlobWriter blob, string with, params object?[] blobValues)
    {
        var outcomes = Outcomes(message);
        var finished = outcomes.Length > 0 && Array.TrueForAll(outcomes, o => o?.Status is AttemptStatus.Delivered or AttemptStatus.Failed);
        var row = MessageRows.Values(message.Envelope, message.HeaderPrefix, message.Header, 0, blob.DecodedLength ?? blob.Length, message.Now, finished);
        db.Queue($"WITH {with} {InsertMessageRow}", [.. row.Where((_, i) => i != BlobColumn), .. blobValues]);
        InsertDeliveries(db, message, outcomes);
    }

    /// <summary>The outcome of each recipient's cut-through attempt, by recipient; null where none was made.</summary>
    private static RecipientOutcome?[] Outcomes(Accepted message)
    {
        var outcomes = new RecipientOutcome?[message.Envelope.Recipients.Count];
        foreach (var o in message.CutThrough?.Outcomes ?? [])
            outcomes[o.DeliveryId] = o;
        return outcomes;
    }

    /// <summary>
    /// The blob a staged body becomes: an equal stored one (by content hash) gains a reference and the staged copy goes;
    /// otherwise the staged row is the blob, and the last chunk goes with it.
    /// </summary>
    /// <param name="keyed">
    /// Whether the body is stored under its content hash. Not for a body every next hop took: no delivery reads it
    /// again, so sharing it saves little, and its key's place in the index costs a write per record.
    /// </param>
    private static async Task<long> StoreStagedAsync(WriteContext db, PostgresBlobWriter blob, bool keyed, long now)
    {
        var hash = keyed ? blob.ContentHash : null;
        if (hash is not null && await db.ScalarAsync("UPDATE blobs SET refcount = refcount + 1 WHERE hash = $1 RETURNING id", hash) is long shared)
        {
            db.Queue("DELETE FROM blob_chunks WHERE blob_id = $1", blob.StagingId);
            db.Queue("DELETE FROM blobs WHERE id = $1", blob.StagingId);
            return shared;
        }
        // The staged row must still be there: a node taken for dead (cut off from the database for longer than the node
        // timeout) may have had it dropped by another; the message is then refused (4xx), never stored without its body.
        if (await db.ExecAsync("UPDATE blobs SET hash = $1, size = $2, refcount = 1, encoding = $4, owner = NULL WHERE id = $3 AND refcount = 0",
                hash, blob.Length, blob.StagingId, blob.ContentEncoding) == 0)
            throw new PostgresException($"the body staged as blob {blob.StagingId} is gone", "ERROR", "ERROR", PostgresErrorCodes.NoDataFound);
        if (blob.Tail.Count > 0)
            db.Queue("INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)", blob.StagingId, blob.ChunksWritten, blob.Tail);
        return blob.StagingId;
    }

    /// <summary>One delivery per recipient (as a cut-through attempt left it, or queued), and the message's events.</summary>
    private static void InsertDeliveries(WriteContext db, Accepted message, RecipientOutcome?[] outcomes)
    {
        var (envelope, now, cutThrough) = (message.Envelope, message.Now, message.CutThrough);
        var source = envelope.Source;
        db.Queue("INSERT INTO events (message_id, type, at, detail) VALUES ($1, 'accepted', $2, $3)",
            envelope.Id, now, $"from [{source.ClientAddress}] via {source.Listener}");
        if (envelope.QuarantineReason is { } reason) // why it waits for an operator: the API's events and queue show tell
            db.Queue("INSERT INTO events (message_id, type, at, detail) VALUES ($1, 'quarantined', $2, $3)", envelope.Id, now, reason);
        for (var i = 0; i < outcomes.Length; i++)
        {
            var rcpt = envelope.Recipients[i];
            var route = rcpt.Route ?? RouteKey.For(RouteKey.Remote, rcpt.Address).ToString();
            if (outcomes[i] is not { } o)
            {
                db.Queue("INSERT INTO deliveries (message_id, recipient, route, notify, orcpt, state, due_at) VALUES ($1, $2, $3, $4, $5, 'queued', $6)",
                    envelope.Id, rcpt.Address, route, (int)rcpt.Notify, rcpt.OriginalRecipient, now);
                continue;
            }
            // the first attempt, made while the client waited: the delivery, its attempt row and its event
            var (state, due, dsn, delayWarned) = MessageRows.OutcomeColumns(o, cutThrough!.Ended);
            var reply = o.Reply;
            db.Queue("""
                WITH d AS (
                    INSERT INTO deliveries (message_id, recipient, route, notify, orcpt, state, attempts, due_at, last_remote, last_code, last_enhanced, last_text, dsn_pending, delay_warned)
                    VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $11, $12, $13) RETURNING id),
                     a AS (INSERT INTO attempts (delivery_id, started, ended, remote_host, code, enhanced, text) SELECT id, $14, $15, $8, $9, $10, $11 FROM d)
                INSERT INTO events (message_id, delivery_id, type, at, detail) SELECT $1, id, $6, $15, $16 FROM d
                """,
                envelope.Id, rcpt.Address, route, (int)rcpt.Notify, rcpt.OriginalRecipient, state, due, reply.RemoteHost, reply.Reply.Code, reply.Reply.Enhanced.ToString(),
                reply.Reply.Text, dsn, delayWarned, cutThrough.Started.ToUnixTimeMilliseconds(), cutThrough.Ended.ToUnixTimeMilliseconds(), reply.ToString());
            if (dsn is not null)
                db.Notify(DsnChannel);
        }
        if (QueuesWork(envelope, cutThrough))
            db.Notify(QueueChannel);
        db.Notify(EventsChannel);
    }

    /// <summary>Where the blob's id is in <see cref="MessageRows.Values"/>: the statements take it from their <c>b</c>.</summary>
    private const int BlobColumn = 2;

    /// <summary>The message row, after <c>WITH b AS (... id)</c>: the row's values but the blob's are $1 to $19, in column order.</summary>
    private const string InsertMessageRow = $"INSERT INTO messages ({MessageRows.InsertColumns}) VALUES " +
        "($1, $2, (SELECT id FROM b), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";
}
