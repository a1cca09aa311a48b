using Hermod.Core.Storage;

namespace Hermod.Storage.Postgres;

/// <summary>
/// Retention: finished messages go some time after they finished, with everything that hangs on them. One node at a
/// time deletes (an advisory lock held for the pass); candidates are found through the <c>messages_finished</c> index.
/// </summary>
public sealed partial class PostgresMessageStore : IRetentionStore
{
    /// <summary>The advisory lock of a retention pass.</summary>
    private const long RetentionLock = Schema.Lock + 1;

    public async Task<RetentionResult> DeleteFinishedAsync(TimeSpan retention, int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retention.Ticks, nameof(retention));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var op = new RetentionOp(Now - (long)retention.TotalMilliseconds, maxMessages);
        await _writer.EnqueueAsync(op);
        return op.Result;
    }

    private sealed class RetentionOp(long cutoff, int maxMessages) : WriteOp
    {
        /// <summary>A deletion lost in a crash is done again by the next pass.</summary>
        public override bool Durable => false;

        public RetentionResult Result { get; private set; } = RetentionResult.None;

        public override async Task ExecuteAsync(WriteContext db)
        {
            Result = RetentionResult.None;
            if (await db.ScalarAsync("SELECT pg_try_advisory_xact_lock($1)", RetentionLock) is not true)
                return; // another node's pass is running
            // Finished before the cutoff, owing no DSN, and for a submission: every message of it too, so that a
            // submission's status never rests on part of its envelopes.
            const string Done = """
                m.finished IS NOT NULL AND m.finished < $1
                AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.dsn_pending IS NOT NULL)
                """;
            var messages = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var submissions = new List<string>();
            await using (var reader = await db.ReaderAsync($"""
                SELECT m.id, m.submission_id FROM messages m
                WHERE {Done}
                AND (m.submission_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM messages o WHERE o.submission_id = m.submission_id
                    AND NOT (o.finished IS NOT NULL AND o.finished < $1
                        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = o.id AND d.dsn_pending IS NOT NULL))))
                ORDER BY m.finished LIMIT $2
                """, cutoff, maxMessages))
                while (await reader.ReadAsync())
                {
                    if (seen.Add(reader.GetString(0)))
                        messages.Add(reader.GetString(0));
                    if (!reader.IsDBNull(1) && !submissions.Contains(reader.GetString(1)))
                        submissions.Add(reader.GetString(1));
                }
            // The limit may have cut a submission in two: take the rest of it along (all of it qualifies).
            foreach (var submission in submissions)
                await using (var reader = await db.ReaderAsync("SELECT id FROM messages WHERE submission_id = $1", submission))
                    while (await reader.ReadAsync())
                        if (seen.Add(reader.GetString(0)))
                            messages.Add(reader.GetString(0));

            var (deleted, blobs) = (0, 0);
            foreach (var id in messages)
            {
                // the message row first: what it refers to goes only with the row (its blob's reference exactly once)
                if (await db.ScalarAsync("DELETE FROM messages WHERE id = $1 RETURNING blob_id", id) is not long blobId)
                    continue;
                deleted++;
                db.Queue("DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id = $1)", id);
                db.Queue("DELETE FROM deliveries WHERE message_id = $1", id);
                db.Queue("DELETE FROM events WHERE message_id = $1", id);
                // Blobs are shared by equal bodies and by the envelopes of one submission: the last reference takes it.
                if (await db.ScalarAsync("UPDATE blobs SET refcount = refcount - 1 WHERE id = $1 RETURNING refcount", blobId) is int refs && refs <= 0)
                {
                    db.Queue("DELETE FROM blob_chunks WHERE blob_id = $1", blobId);
                    db.Queue("DELETE FROM blobs WHERE id = $1", blobId);
                    blobs++;
                }
            }
            var removedSubmissions = 0;
            foreach (var submission in submissions)
                removedSubmissions += await db.ExecAsync("DELETE FROM submissions WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM messages WHERE submission_id = $1)",
                    submission);
            // an Idempotency-Key is remembered as long as the message it answered for
            db.Queue("DELETE FROM idempotency WHERE created < $1", cutoff);
            Result = new RetentionResult(deleted, blobs, removedSubmissions);
        }
    }
}
