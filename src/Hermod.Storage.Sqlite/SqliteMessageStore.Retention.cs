using Hermod.Core.Storage;

namespace Hermod.Storage.Sqlite;

/// <summary>
/// Retention: finished messages go some time after they finished, with everything that hangs on them. Candidates
/// are found through the <c>messages_finished</c> index; freed pages are reused by later writes.
/// </summary>
public sealed partial class SqliteMessageStore : IRetentionStore
{
    public async Task<RetentionResult> DeleteFinishedAsync(TimeSpan retention, int maxMessages, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retention.Ticks, nameof(retention));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var op = new RetentionOp(Now - (long)retention.TotalMilliseconds, maxMessages);
        await _writer.EnqueueAsync(op);
        if (op.Result.Blobs > 0)
            await _writer.EnqueueAsync(new CollectSegmentsOp(_segments)); // after the deletion committed: the files go last
        return op.Result;
    }

    private sealed class RetentionOp(long cutoff, int maxMessages) : WriteOp
    {
        /// <summary>A deletion lost in a crash is done again by the next pass: no fsync needed.</summary>
        public override bool NeedsSync => false;

        public RetentionResult Result { get; private set; } = RetentionResult.None;

        public override void Execute(WriteContext db)
        {
            // Finished before the cutoff, owing no DSN, and for a submission: every message of it too, so that a
            // submission's status never rests on part of its envelopes.
            const string Done = """
                m.finished IS NOT NULL AND m.finished < $p0
                AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.dsn_pending IS NOT NULL)
                """;
            var messages = new List<(string Id, long BlobId, string? SubmissionId)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var submissions = new List<string>();
            using (var reader = db.Command($"""
                SELECT m.id, m.blob_id, m.submission_id FROM messages m
                WHERE {Done}
                AND (m.submission_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM messages o WHERE o.submission_id = m.submission_id
                    AND NOT (o.finished IS NOT NULL AND o.finished < $p0
                        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = o.id AND d.dsn_pending IS NOT NULL))))
                ORDER BY m.finished LIMIT $p1
                """, cutoff, maxMessages).ExecuteReader())
                while (reader.Read())
                {
                    var submission = reader.IsDBNull(2) ? null : reader.GetString(2);
                    if (seen.Add(reader.GetString(0)))
                        messages.Add((reader.GetString(0), reader.GetInt64(1), submission));
                    if (submission is not null && !submissions.Contains(submission))
                        submissions.Add(submission);
                }
            // The limit may have cut a submission in two: take the rest of it along (all of it qualifies).
            foreach (var submission in submissions)
                using (var reader = db.Command("SELECT id, blob_id FROM messages WHERE submission_id = $p0", submission).ExecuteReader())
                    while (reader.Read())
                        if (seen.Add(reader.GetString(0)))
                            messages.Add((reader.GetString(0), reader.GetInt64(1), submission));

            var blobs = 0;
            foreach (var (id, blobId, _) in messages)
            {
                db.Exec("DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id = $p0)", id);
                db.Exec("DELETE FROM deliveries WHERE message_id = $p0", id);
                db.Exec("DELETE FROM events WHERE message_id = $p0", id);
                db.Exec("DELETE FROM messages WHERE id = $p0", id);
                // Blobs are shared by equal bodies and by the envelopes of one submission: the last reference takes it.
                if (db.Scalar("UPDATE blobs SET refcount = refcount - 1 WHERE id = $p0 RETURNING refcount", blobId) is long refs && refs <= 0)
                {
                    db.Exec("DELETE FROM blob_chunks WHERE blob_id = $p0", blobId);
                    db.Exec("DELETE FROM blobs WHERE id = $p0", blobId);
                    blobs++;
                }
            }
            var removedSubmissions = 0;
            foreach (var submission in submissions)
                removedSubmissions += db.Command("DELETE FROM submissions WHERE id = $p0 AND NOT EXISTS (SELECT 1 FROM messages WHERE submission_id = $p0)",
                    submission).ExecuteNonQuery();
            // an Idempotency-Key is remembered as long as the message it answered for
            db.Exec("DELETE FROM idempotency WHERE created < $p0", cutoff);
            Result = new RetentionResult(messages.Count, blobs, removedSubmissions);
        }
    }
}
