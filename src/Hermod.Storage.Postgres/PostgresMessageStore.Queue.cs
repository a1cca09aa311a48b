using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;
using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>
/// The delivery queue, shared by every node. A delivery is due when <c>due_at</c> has passed; a claim sets it in flight
/// under a lease — <c>lease_owner</c> the node, <c>due_at</c> the lease expiry — so the work of a node that died becomes
/// due again by itself. Due rows are found by a range scan of the <c>deliveries_due</c> index and locked with
/// <c>FOR UPDATE SKIP LOCKED</c>: O(log n) in the queue size, and nodes claiming at once take different rows.
/// </summary>
public sealed partial class PostgresMessageStore
{
    public QueueSignal Signal { get; } = new();

    public QueueSignal DsnOwed { get; } = new();

    /// <summary>
    /// Claims whole (message, route) groups, so one message's recipients at one destination share a transaction: the
    /// first <paramref name="maxJobs"/> due rows pick the groups, then every due row of those groups is taken. A row of a
    /// picked group that another node holds is waited for, and left to it once that node's claim is committed. The claim
    /// is one round trip (its transaction sent as one batch), reading the claimed messages one more.
    /// </summary>
    public async Task<IReadOnlyList<DeliveryJob>> ClaimAsync(int maxJobs, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = Now;
        var claimed = new Dictionary<(string MessageId, string Route), List<QueuedRecipient>>();
        await UseConnectionAsync(async connection =>
        {
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off")); // a lost claim is only work not started
            batch.BatchCommands.Add(Commands.Statement("""
                WITH due AS (SELECT message_id, route FROM deliveries WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED),
                     picked AS (SELECT DISTINCT message_id, route FROM due)
                UPDATE deliveries d SET state = 'inflight', due_at = $3, lease_owner = $4
                FROM picked p WHERE d.message_id = p.message_id AND d.route = p.route AND d.due_at <= $1
                RETURNING d.message_id, d.route, d.id, d.recipient, d.notify, d.orcpt, d.attempts, d.delay_warned
                """, [now, maxJobs, now + (long)lease.TotalMilliseconds, _node]));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = (reader.GetString(0), reader.GetString(1));
                if (!claimed.TryGetValue(key, out var recipients))
                    claimed[key] = recipients = [];
                recipients.Add(new QueuedRecipient(reader.GetInt64(2), reader.GetString(3), (DsnNotify)reader.GetInt32(4), MessageRows.NullableString(reader, 5),
                    reader.GetInt32(6), reader.GetInt32(7) != 0));
            }
            while (await reader.NextResultAsync(cancellationToken)) // the COMMIT: the claim holds only once it has returned
            {
            }
            return claimed.Count;
        }, cancellationToken);
        if (claimed.Count == 0)
            return [];
        var messages = (await ReadMessagesAsync($"""
            SELECT {MessageRows.MessageColumns}, {MessageRows.DeliveryColumns}
            FROM messages m JOIN deliveries d ON d.message_id = m.id WHERE m.id = ANY($1) ORDER BY m.id, d.id
            """, [claimed.Keys.Select(k => k.MessageId).Distinct().ToArray()], cancellationToken)).ToDictionary(m => m.Envelope.Id, StringComparer.Ordinal);
        var jobs = new List<DeliveryJob>(claimed.Count);
        foreach (var ((messageId, route), recipients) in claimed)
            if (messages.TryGetValue(messageId, out var message))
            {
                recipients.Sort((a, b) => a.DeliveryId.CompareTo(b.DeliveryId));
                jobs.Add(new DeliveryJob(message, route, recipients));
            }
        return jobs;
    }

    public Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            await using var command = Commands.Create(connection, "SELECT min(due_at) FROM deliveries WHERE due_at IS NOT NULL", []);
            return await command.ExecuteScalarAsync(cancellationToken) is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
        }, cancellationToken);

    public async Task RecordAsync(AttemptRecord attempt, CancellationToken cancellationToken)
    {
        await _writer.EnqueueAsync(new RecordOp(attempt));
        EventsWritten.Set();
    }

    public async Task<int> RetryNowAsync(string? messageId, CancellationToken cancellationToken)
    {
        var op = new CountOp(messageId is null
            ? "UPDATE deliveries SET state = CASE state WHEN 'held' THEN 'queued' ELSE state END, due_at = $1 WHERE state IN ('queued', 'deferred', 'held') AND $2::text IS NULL"
            : "UPDATE deliveries SET state = CASE state WHEN 'held' THEN 'queued' ELSE state END, due_at = $1 WHERE state IN ('queued', 'deferred', 'held') AND message_id = $2",
            Now, messageId);
        await _writer.EnqueueAsync(op);
        Signal.Set();
        return op.Count;
    }

    public async Task<int> ReleaseAsync(string messageId, CancellationToken cancellationToken)
    {
        var prefix = RouteKey.Quarantine + ":";
        var op = new CountOp($"""
            UPDATE deliveries SET route = substr(route, {prefix.Length + 1}), state = 'queued', due_at = $1, last_code = NULL, last_enhanced = NULL, last_text = NULL, last_remote = NULL
            WHERE message_id = $2 AND state IN ('queued', 'deferred', 'held') AND route LIKE '{prefix}%'
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

    public async Task<IReadOnlyList<StoredMessage>> PendingDsnAsync(int max, CancellationToken cancellationToken) =>
        await ReadMessagesAsync($"""
            WITH sel AS (
                SELECT * FROM messages WHERE id IN (SELECT DISTINCT message_id FROM deliveries WHERE dsn_pending IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.message_id = messages.id AND x.state = 'inflight')
                ORDER BY id LIMIT $1)
            SELECT {MessageRows.MessageColumns}, {MessageRows.DeliveryColumns}
            FROM sel m JOIN deliveries d ON d.message_id = m.id ORDER BY m.id, d.id
            """, [max], cancellationToken);

    /// <summary>Ends an attempt: state, attempt history, last reply, owed DSN and events, all in one commit.</summary>
    private sealed class RecordOp(AttemptRecord attempt) : WriteOp
    {
        public override Task ExecuteAsync(WriteContext db)
        {
            var started = attempt.Started.ToUnixTimeMilliseconds();
            var ended = attempt.Ended.ToUnixTimeMilliseconds();
            foreach (var o in attempt.Outcomes)
            {
                if (o.Status == AttemptStatus.Held)
                {
                    // not an attempt: no retry schedule, no expiry, no DSN; the reason is shown with the recipient
                    db.Queue("UPDATE deliveries SET state = 'held', due_at = NULL, lease_owner = NULL, last_code = 0, last_enhanced = $2, last_text = $3 WHERE id = $1",
                        o.DeliveryId, o.Reply.Reply.Enhanced.ToString(), o.Reply.Reply.Text);
                    db.Queue("INSERT INTO events (message_id, delivery_id, type, at, detail) VALUES ($1, $2, 'held', $3, $4)",
                        attempt.MessageId, o.DeliveryId, ended, o.Reply.Reply.Text);
                    continue;
                }
                var (state, due, dsn, delayWarned) = MessageRows.OutcomeColumns(o, attempt.Ended);
                var reply = o.Reply;
                db.Queue("""
                    UPDATE deliveries SET state = $2, attempts = attempts + 1, due_at = $3, lease_owner = NULL,
                        last_remote = $4, last_code = $5, last_enhanced = $6, last_text = $7,
                        dsn_pending = coalesce($8, dsn_pending), delay_warned = greatest(delay_warned, $9)
                    WHERE id = $1
                    """,
                    o.DeliveryId, state, due, reply.RemoteHost, reply.Reply.Code, reply.Reply.Enhanced.ToString(), reply.Reply.Text, dsn, delayWarned);
                AttemptHistory(db, attempt.MessageId, o.DeliveryId, state, reply, started, ended);
                if (o.Status == AttemptStatus.Deferred)
                    db.Notify(QueueChannel); // every runner looks again at when work is due next
                if (dsn is not null)
                    db.Notify(DsnChannel);
            }
            MarkFinished(db, attempt.MessageId, ended);
            db.Notify(EventsChannel);
            return Task.CompletedTask;
        }
    }

    /// <summary>The attempt's row and its event, for the API, the events feed and <c>queue show</c>.</summary>
    private static void AttemptHistory(WriteContext db, string messageId, long deliveryId, string state, UpstreamReply reply, long started, long ended)
    {
        db.Queue("INSERT INTO attempts (delivery_id, started, ended, remote_host, code, enhanced, text) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            deliveryId, started, ended, reply.RemoteHost, reply.Reply.Code, reply.Reply.Enhanced.ToString(), reply.Reply.Text);
        db.Queue("INSERT INTO events (message_id, delivery_id, type, at, detail) VALUES ($1, $2, $3, $4, $5)",
            messageId, deliveryId, state, ended, reply.ToString());
    }

    /// <summary>Stamps the message finished once no recipient can change state any more (retention counts from then).</summary>
    private static void MarkFinished(WriteContext db, string messageId, long now) =>
        db.Queue("""
            UPDATE messages SET finished = $2 WHERE id = $1 AND finished IS NULL
            AND NOT EXISTS (SELECT 1 FROM deliveries WHERE message_id = $1 AND state NOT IN ('delivered', 'failed', 'cancelled'))
            """, messageId, now);

    private sealed class CountOp(string sql, long now, string? messageId) : WriteOp
    {
        public int Count { get; private set; }

        public override async Task ExecuteAsync(WriteContext db)
        {
            Count = await db.ExecAsync(sql, now, messageId);
            db.Notify(QueueChannel);
        }
    }

    private sealed class CancelOp(long now, string messageId) : WriteOp
    {
        public int Count { get; private set; }

        public override async Task ExecuteAsync(WriteContext db)
        {
            Count = await db.ExecAsync("UPDATE deliveries SET state = 'cancelled', due_at = NULL WHERE message_id = $1 AND state IN ('queued', 'deferred', 'held')",
                messageId);
            if (Count > 0)
            {
                db.Queue("INSERT INTO events (message_id, type, at, detail) VALUES ($1, 'cancelled', $2, $3)", messageId, now, $"{Count} recipient(s) by the operator");
                db.Notify(EventsChannel);
            }
            MarkFinished(db, messageId, now);
        }
    }
}
