using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;

namespace Hermod.Storage.Sqlite;

/// <summary>
/// The delivery queue on the same database. A delivery is due when <c>due_at</c> has passed; claiming sets it
/// in flight with <c>due_at</c> at the lease expiry, so work of a process that died becomes due again by itself.
/// Picking due work is an index range scan on <c>due_at</c>: O(log n) in the queue size.
/// </summary>
public sealed partial class SqliteMessageStore
{
    public QueueSignal Signal { get; } = new();

    public QueueSignal DsnOwed { get; } = new();

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Run once at open by the process that runs the queue (see the constructor's recover): nothing can still be in flight.</summary>
    private const string RecoverInflight =
        "UPDATE deliveries SET state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END, lease_owner = NULL, due_at = strftime('%s', 'now') * 1000 WHERE state = 'inflight';" +
        // held mail gets another look with this start's configuration (a route may have been added)
        "UPDATE deliveries SET state = 'queued', due_at = strftime('%s', 'now') * 1000 WHERE state = 'held';";

    public async Task<IReadOnlyList<DeliveryJob>> ClaimAsync(int maxJobs, TimeSpan lease, CancellationToken cancellationToken)
    {
        var op = new ClaimOp(Now, (long)lease.TotalMilliseconds, maxJobs, _owner);
        await _writer.EnqueueAsync(op);
        var jobs = new List<DeliveryJob>(op.Claimed.Count);
        foreach (var (messageId, route, recipients) in op.Claimed)
            if (await GetAsync(messageId, cancellationToken) is { } message)
                jobs.Add(new DeliveryJob(message, route, recipients));
        return jobs;
    }

    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT min(due_at) FROM deliveries WHERE due_at IS NOT NULL";
        return await command.ExecuteScalarAsync(cancellationToken) is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    public async Task RecordAsync(AttemptRecord attempt, CancellationToken cancellationToken)
    {
        await _writer.EnqueueAsync(new RecordOp(attempt));
        EventsWritten.Set();
    }

    public async Task<int> RetryNowAsync(string? messageId, CancellationToken cancellationToken)
    {
        var op = new CountOp(messageId is null
            ? "UPDATE deliveries SET state = CASE state WHEN 'held' THEN 'queued' ELSE state END, due_at = $p0 WHERE state IN ('queued', 'deferred', 'held') AND $p1 IS NULL"
            : "UPDATE deliveries SET state = CASE state WHEN 'held' THEN 'queued' ELSE state END, due_at = $p0 WHERE state IN ('queued', 'deferred', 'held') AND message_id = $p1", Now, messageId);
        await _writer.EnqueueAsync(op);
        Signal.Set();
        return op.Count;
    }

    public async Task<int> ReleaseAsync(string messageId, CancellationToken cancellationToken)
    {
        var prefix = RouteKey.Quarantine + ":";
        var op = new CountOp($"""
            UPDATE deliveries SET route = substr(route, {prefix.Length + 1}), state = 'queued', due_at = $p0, last_code = NULL, last_enhanced = NULL, last_text = NULL, last_remote = NULL
            WHERE message_id = $p1 AND state IN ('queued', 'deferred', 'held') AND route LIKE '{prefix}%'
            """, Now, messageId);
        await _writer.EnqueueAsync(op);
        Signal.Set();
        return op.Count;
    }

    public async Task<int> CancelAsync(string messageId, CancellationToken cancellationToken)
    {
        var op = new CancelOp(Now, messageId);
        await _writer.EnqueueAsync(op);
        EventsWritten.Set();
        return op.Count;
    }

    public async Task<IReadOnlyList<StoredMessage>> PendingDsnAsync(int max, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            WITH sel AS (
                SELECT * FROM messages WHERE id IN (SELECT DISTINCT message_id FROM deliveries WHERE dsn_pending IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.message_id = messages.id AND x.state = 'inflight')
                ORDER BY id LIMIT $limit)
            SELECT {MessageRows.MessageColumns}, {MessageRows.DeliveryColumns}
            FROM sel m JOIN deliveries d ON d.message_id = m.id ORDER BY m.id, d.id
            """;
        command.Parameters.AddWithValue("$limit", max);
        return await ReadMessagesAsync(command, cancellationToken);
    }

    /// <summary>
    /// Due deliveries, earliest first, read off the due index as they are needed: a claim stops after the rows of the
    /// groups it takes, so its cost does not grow with how much else is due (grouping every due row, as a GROUP BY
    /// would, made each claim read the whole backlog).
    /// </summary>
    internal const string DueInOrder = "SELECT message_id, route FROM deliveries WHERE due_at <= $p0 ORDER BY due_at";

    /// <summary>Claims whole (message, route) groups, so one message's recipients at one destination share a transaction.</summary>
    private sealed class ClaimOp(long now, long leaseMs, int maxJobs, string owner) : WriteOp
    {
        public override bool NeedsSync => false; // a lost claim is only work not started

        public override bool Repeatable => true;

        public List<(string MessageId, string Route, List<QueuedRecipient> Recipients)> Claimed { get; } = [];

        public override void Execute(WriteContext db)
        {
            Claimed.Clear(); // a run rolled back claimed nothing
            var groups = new List<(string, string)>(maxJobs);
            var seen = new HashSet<(string, string)>(maxJobs);
            using (var reader = db.Command(DueInOrder, now).ExecuteReader())
                while (groups.Count < maxJobs && reader.Read())
                {
                    var group = (reader.GetString(0), reader.GetString(1));
                    if (seen.Add(group))
                        groups.Add(group);
                }
            foreach (var (messageId, route) in groups)
            {
                var recipients = new List<QueuedRecipient>();
                using (var reader = db.Command("""
                    UPDATE deliveries SET state = 'inflight', due_at = $p2, lease_owner = $p3
                    WHERE message_id = $p0 AND route = $p1 AND due_at <= $p4
                    RETURNING id, recipient, notify, orcpt, attempts, delay_warned
                    """, messageId, route, now + leaseMs, owner, now).ExecuteReader())
                    while (reader.Read())
                        recipients.Add(new QueuedRecipient(reader.GetInt64(0), reader.GetString(1), (DsnNotify)reader.GetInt32(2),
                            reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetInt32(4), reader.GetInt64(5) != 0));
                recipients.Sort((a, b) => a.DeliveryId.CompareTo(b.DeliveryId));
                Claimed.Add((messageId, route, recipients));
            }
        }
    }

    /// <summary>Ends an attempt: state, attempt history, last reply, owed DSN and events, all in one commit.</summary>
    private sealed class RecordOp(AttemptRecord attempt) : WriteOp
    {
        public override bool Repeatable => true;

        public override void Execute(WriteContext db)
        {
            var started = attempt.Started.ToUnixTimeMilliseconds();
            var ended = attempt.Ended.ToUnixTimeMilliseconds();
            foreach (var o in attempt.Outcomes)
            {
                if (o.Status == AttemptStatus.Held)
                {
                    // not an attempt: no retry schedule, no expiry, no DSN; the reason is shown with the recipient
                    db.Exec("UPDATE deliveries SET state = 'held', due_at = NULL, lease_owner = NULL, last_code = 0, last_enhanced = $p1, last_text = $p2 WHERE id = $p0",
                        o.DeliveryId, o.Reply.Reply.Enhanced.ToString(), o.Reply.Reply.Text);
                    db.Exec("INSERT INTO events (message_id, delivery_id, type, at, detail) VALUES ($p0, $p1, 'held', $p2, $p3)",
                        attempt.MessageId, o.DeliveryId, ended, o.Reply.Reply.Text);
                    continue;
                }
                var (state, due, dsn, delayWarned) = MessageRows.OutcomeColumns(o, attempt.Ended);
                var reply = o.Reply;
                db.Exec("""
                    UPDATE deliveries SET state = $p1, attempts = attempts + 1, due_at = $p2, lease_owner = NULL,
                        last_remote = $p3, last_code = $p4, last_enhanced = $p5, last_text = $p6,
                        dsn_pending = coalesce($p7, dsn_pending), delay_warned = delay_warned OR $p8
                    WHERE id = $p0
                    """,
                    o.DeliveryId, state, due, reply.RemoteHost, reply.Reply.Code, reply.Reply.Enhanced.ToString(), reply.Reply.Text, dsn, delayWarned);
                AttemptHistory(db, attempt.MessageId, o.DeliveryId, state, reply, started, ended);
            }
            MarkFinished(db, attempt.MessageId, ended);
        }
    }

    /// <summary>The attempt's row and its event, for the API, the events feed and <c>queue show</c>.</summary>
    private static void AttemptHistory(WriteContext db, string messageId, long deliveryId, string state, UpstreamReply reply, long started, long ended)
    {
        db.Exec("INSERT INTO attempts (delivery_id, started, ended, remote_host, code, enhanced, text) VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6)",
            deliveryId, started, ended, reply.RemoteHost, reply.Reply.Code, reply.Reply.Enhanced.ToString(), reply.Reply.Text);
        db.Exec("INSERT INTO events (message_id, delivery_id, type, at, detail) VALUES ($p0, $p1, $p2, $p3, $p4)",
            messageId, deliveryId, state, ended, reply.ToString());
    }

    /// <summary>Stamps the message finished once no recipient can change state any more (retention counts from then).</summary>
    private static void MarkFinished(WriteContext db, string messageId, long now) =>
        db.Exec("""
            UPDATE messages SET finished = $p1 WHERE id = $p0 AND finished IS NULL
            AND NOT EXISTS (SELECT 1 FROM deliveries WHERE message_id = $p0 AND state NOT IN ('delivered', 'failed', 'cancelled'))
            """, messageId, now);

    private sealed class CountOp(string sql, long now, string? messageId) : WriteOp
    {
        public int Count { get; private set; }

        public override void Execute(WriteContext db) => Count = db.Command(sql, now, messageId).ExecuteNonQuery();
    }

    private sealed class CancelOp(long now, string messageId) : WriteOp
    {
        public int Count { get; private set; }

        public override void Execute(WriteContext db)
        {
            Count = db.Command("UPDATE deliveries SET state = 'cancelled', due_at = NULL WHERE message_id = $p0 AND state IN ('queued', 'deferred', 'held')", messageId)
                .ExecuteNonQuery();
            if (Count > 0)
                db.Exec("INSERT INTO events (message_id, type, at, detail) VALUES ($p0, 'cancelled', $p1, $p2)", messageId, now, $"{Count} recipient(s) by the operator");
            MarkFinished(db, messageId, now);
        }
    }
}
