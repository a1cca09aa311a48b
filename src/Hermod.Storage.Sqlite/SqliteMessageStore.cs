using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Hermod.Storage.Sqlite;

/// <summary>The embedded store: one SQLite database in WAL mode with full fsync, written by one group-commit writer.</summary>
public sealed partial class SqliteMessageStore : IMessageStore, IDeliveryQueue, IClusterRoles, IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly int _chunkSize;
    private readonly TimeProvider _time;
    private readonly GroupCommitWriter _writer;
    private readonly WalCheckpointer _checkpointer;
    private readonly BlobSegments _segments;
    private readonly DataDirectoryLock? _lock;
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <param name="recover">
    /// true for the process that runs the queue (the server): work an earlier run left unfinished is taken up again —
    /// deliveries in flight become due, held ones get another look, bodies staged but never accepted are dropped.
    /// false for a process that only inspects or edits the queue (the command line), possibly while a server runs:
    /// that work is the running server's, not left over. Only a store that recovers holds the data directory
    /// (<see cref="DataDirectoryLock"/>).
    /// </param>
    /// <exception cref="IOException">With <paramref name="recover"/>: another server holds the data directory.</exception>
    public SqliteMessageStore(HermodOptions hermod, SqliteStorageOptions options, HermodMetrics metrics, TimeProvider time, ILogger logger, bool recover = true)
    {
        ArgumentNullException.ThrowIfNull(hermod);
        ArgumentNullException.ThrowIfNull(options);
        Directory.CreateDirectory(hermod.DataDir);
        _lock = recover ? DataDirectoryLock.Acquire(hermod.DataDir) : null;
        DatabasePath = Path.GetFullPath(Path.Combine(hermod.DataDir, "hermod.db"));
        _connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = true }.ToString();
        _chunkSize = options.ChunkSize;
        _time = time;

        var connection = Open();
        using (var setup = connection.CreateCommand())
        {
            // temp_store=MEMORY: the writer's savepoint journals (one per op) stay in memory instead of temporary files
            // wal_autocheckpoint: the log is copied back by the checkpointer's thread; the writer only steps in far beyond
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;" +
                $"PRAGMA wal_autocheckpoint={WalCheckpointer.FallbackPages};";
            setup.ExecuteNonQuery();
            setup.CommandText = "PRAGMA user_version;";
            var version = Convert.ToInt32(setup.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            if (version > Schema.Version)
                throw new InvalidOperationException($"{DatabasePath}: schema version {version} is newer than this Hermod ({Schema.Version})");
            setup.CommandText = "BEGIN IMMEDIATE;" + (version > 0 ? Schema.Upgrade(version) : "") + Schema.Create + $"PRAGMA user_version={Schema.Version};" +
                (recover
                    // bodies staged by a process that died before accepting them
                    ? "DELETE FROM blob_chunks WHERE blob_id IN (SELECT id FROM blobs WHERE refcount = 0);" +
                      "DELETE FROM blobs WHERE refcount = 0;" +
                      RecoverInflight
                    : "") +
                "COMMIT;"; // an upgrade is all done or not at all
            setup.ExecuteNonQuery();
        }
        _segments = new BlobSegments(Path.Combine(hermod.DataDir, "blobs"), options.SegmentSize);
        _checkpointer = new WalCheckpointer(Open(), logger);
        _writer = new GroupCommitWriter(connection, options.MaxBatch, metrics, logger, _segments.SyncWritten, _checkpointer.Written);
        if (recover && _segments.Existing > 0)
            _ = _writer.EnqueueAsync(new CollectSegmentsOp(_segments)); // what a crashed run left behind
    }

    public string DatabasePath { get; }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout=10000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    public IBlobWriter CreateBlobWriter() => new SqliteBlobWriter(this, _chunkSize);

    internal async Task WriteChunkAsync(SqliteBlobWriter blob) =>
        await _writer.EnqueueAsync(new ChunkOp(blob, await ChunkData.TakeAsync(blob, _segments, last: false), _time.GetUtcNow().ToUnixTimeMilliseconds()));

    internal Task DropStagingAsync(long stagingId) => _writer.EnqueueAsync(new DropStagingOp(stagingId));

    public Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, CancellationToken cancellationToken, ReplacedHeader? header = null,
        CutThroughAttempt? cutThrough = null) =>
        AcceptAsync(envelope, headerPrefix, body, null, null, header, cutThrough, background: cutThrough?.DeliveredAll(envelope.Recipients.Count) == true);

    public Task AcceptDsnAsync(MessageEnvelope dsn, string headerPrefix, IBlobWriter body, IReadOnlyList<long> deliveryIds, CancellationToken cancellationToken) =>
        AcceptAsync(dsn, headerPrefix, body, deliveryIds, null);

    /// <param name="background">Nobody waits for this record (every next hop took the message): it may share a later commit.</param>
    private async Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, IReadOnlyList<long>? clearDsn, IdempotentResponse? idempotent,
        ReplacedHeader? header = null, CutThroughAttempt? cutThrough = null, bool background = false)
    {
        var blob = (SqliteBlobWriter)body;
        var chunk = await ChunkData.TakeAsync(blob, _segments, last: true);
        await _writer.EnqueueAsync(new AcceptOp(envelope, headerPrefix, header, blob, chunk, _time.GetUtcNow().ToUnixTimeMilliseconds(), clearDsn, idempotent, cutThrough,
            background));
        blob.Accepted = true;
        if (cutThrough?.Outcomes.Any(o => o.Dsn != DsnKind.None) == true)
            DsnOwed.Set();
        if (cutThrough is null || cutThrough.Outcomes.Count < envelope.Recipients.Count || cutThrough.Outcomes.Any(o => o.Status == AttemptStatus.Deferred))
            Signal.Set(); // work for the queue runner (a message every next hop answered for good has none)
        EventsWritten.Set();
    }

    public async Task<IReadOnlyList<StoredMessage>> ListAsync(DeliveryState? state, int limit, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        var filter = state is null ? "" : "WHERE id IN (SELECT message_id FROM deliveries WHERE state = $state)";
        command.CommandText = $"""
            WITH sel AS (SELECT * FROM messages {filter} ORDER BY id LIMIT $limit)
            SELECT {MessageRows.MessageColumns}, {MessageRows.DeliveryColumns}
            FROM sel m JOIN deliveries d ON d.message_id = m.id ORDER BY m.id, d.id
            """;
        command.Parameters.AddWithValue("$limit", limit);
        if (state is not null)
            command.Parameters.AddWithValue("$state", MessageRows.StateName(state.Value));
        return await ReadMessagesAsync(command, cancellationToken);
    }

    public async Task<StoredMessage?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {MessageRows.MessageColumns}, {MessageRows.DeliveryColumns}
            FROM messages m JOIN deliveries d ON d.message_id = m.id WHERE m.id = $id ORDER BY d.id
            """;
        command.Parameters.AddWithValue("$id", id);
        var list = await ReadMessagesAsync(command, cancellationToken);
        return list.Count == 0 ? null : list[0];
    }

    private static async Task<IReadOnlyList<StoredMessage>> ReadMessagesAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await MessageRows.ReadAsync(reader, cancellationToken);
    }

    public async Task<bool> CopyContentAsync(string id, Stream destination, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT m.header_prefix, m.blob_id, m.body_offset, b.encoding FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = $id";
        command.Parameters.AddWithValue("$id", id);
        long blobId;
        long skip;
        string? encoding;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
                return false;
            var prefix = (byte[])reader.GetValue(0);
            await destination.WriteAsync(prefix, cancellationToken);
            blobId = reader.GetInt64(1);
            skip = reader.GetInt64(2);
            encoding = reader.IsDBNull(3) ? null : reader.GetString(3);
        }
        // Chunk by chunk: memory stays at one chunk whatever the size of the message.
        command.CommandText = ChunkQuery;
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$blob", blobId);
        var seqParameter = command.Parameters.AddWithValue("$seq", 0);
        await using var body = ChunkStream.Decode(new ChunkStream(async (seq, ct) =>
        {
            seqParameter.Value = seq;
            return await ReadChunkAsync(command, ct);
        }), encoding);
        await ChunkStream.SkipAsync(body, skip, cancellationToken);
        await body.CopyToAsync(destination, cancellationToken);
        return true;
    }

    /// <summary>One chunk of a blob, or null past its last (see <see cref="SqliteBlobWriter.OpenReadAsync"/>).</summary>
    internal async Task<byte[]?> ReadChunkAsync(long blobId, int seq, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = ChunkQuery;
        command.Parameters.AddWithValue("$blob", blobId);
        command.Parameters.AddWithValue("$seq", seq);
        return await ReadChunkAsync(command, cancellationToken);
    }

    private const string ChunkQuery = "SELECT data, segment, seg_offset, length FROM blob_chunks WHERE blob_id = $blob AND seq = $seq";

    /// <summary>The chunk <paramref name="command"/> (<see cref="ChunkQuery"/>) finds: its bytes from the row, or from the segment file the row points at.</summary>
    private async Task<byte[]?> ReadChunkAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        Extent extent;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
                return null;
            if (reader.IsDBNull(1))
                return (byte[])reader.GetValue(0);
            extent = new Extent(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt32(3));
        }
        return await _segments.ReadAsync(extent, cancellationToken);
    }

    /// <summary>
    /// Every role is this process's while it holds the data directory: one server per data directory, so there is no
    /// other node to share the work with. The command line, which does not hold it, holds no role.
    /// </summary>
    public Task<bool> HoldAsync(string role, CancellationToken cancellationToken) => Task.FromResult(_lock is not null);

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        _checkpointer.Dispose();
        _segments.Dispose();
        SqliteConnection.ClearAllPools();
        _lock?.Dispose();
    }

    /// <summary>
    /// Stages one chunk of a large body (allocating the staging blob row on the first). No fsync, of the log or of a
    /// segment: the accepting commit makes both durable, and a staged body a crash leaves is dropped at the next start.
    /// </summary>
    private sealed class ChunkOp(SqliteBlobWriter blob, ChunkData chunk, long now) : WriteOp
    {
        public override bool NeedsSync => false;

        public override void Execute(WriteContext db)
        {
            if (blob.StagingId == 0)
                blob.StagingId = db.Insert("INSERT INTO blobs (hash, size, refcount, created) VALUES (NULL, 0, 0, $p0)", now);
            chunk.Insert(db, blob.StagingId, blob.ChunksWritten);
            blob.ChunksWritten++;
        }

        public override void Release() => chunk.Release();
    }

    /// <summary>Deletes the segment files no chunk points at any more (after retention, and what a crashed run left).</summary>
    private sealed class CollectSegmentsOp(BlobSegments segments) : WriteOp
    {
        public override bool NeedsSync => false;

        public override void Execute(WriteContext db)
        {
            var inUse = new HashSet<long>();
            using (var reader = db.Command("SELECT DISTINCT segment FROM blob_chunks WHERE segment IS NOT NULL").ExecuteReader())
                while (reader.Read())
                    inUse.Add(reader.GetInt64(0));
            segments.Collect(inUse);
        }
    }

    private sealed class DropStagingOp(long stagingId) : WriteOp
    {
        public override bool NeedsSync => false;

        public override void Execute(WriteContext db)
        {
            db.Exec("DELETE FROM blob_chunks WHERE blob_id = $p0", stagingId);
            db.Exec("DELETE FROM blobs WHERE id = $p0 AND refcount = 0", stagingId);
        }
    }

    /// <summary>The message, its recipients and its body become durable together.</summary>
    private sealed class AcceptOp(MessageEnvelope envelope, string headerPrefix, ReplacedHeader? header, SqliteBlobWriter blob, ChunkData chunk, long now,
        IReadOnlyList<long>? clearDsn = null, IdempotentResponse? idempotent = null, CutThroughAttempt? cutThrough = null, bool background = false,
        long? shared = null) : WriteOp
    {
        /// <summary>The blob the message refers to, once executed: <c>shared</c> when given (a further envelope of a submission), else stored or found.</summary>
        public long BlobId { get; private set; }

        /// <summary>Delivered upstream, every recipient: the next hops are responsible, so no fsync is waited for.</summary>
        public override bool NeedsSync => cutThrough?.DeliveredAll(envelope.Recipients.Count) != true;

        /// <summary>Its rows point at chunks in segment files: those must be durable first, whenever this commit becomes so.</summary>
        public override bool NeedsSegmentSync => NeedsSync || blob.InSegments;

        public override bool CanWait => background;

        public override bool Repeatable => true; // rows only

        public override void Execute(WriteContext db)
        {
            // Without a content hash no stored blob can be equal: its key stays NULL (a random one would cost a write at
            // a random place of the index per message). A body every next hop took goes without one too: no delivery
            // reads it again, so sharing it saves little, and its hash's place in the index cost a page write per record.
            var hash = NeedsSync ? blob.ContentHash : null;
            var blobId = shared ?? (hash is not null ? db.Scalar("SELECT id FROM blobs WHERE hash = $p0", hash) as long? : null);
            if (blobId is not null)
            {
                db.Exec("UPDATE blobs SET refcount = refcount + 1 WHERE id = $p0", blobId);
                if (shared is null && blob.StagingId != 0) // an equal body is stored already: the staged copy goes
                {
                    db.Exec("DELETE FROM blob_chunks WHERE blob_id = $p0", blob.StagingId);
                    db.Exec("DELETE FROM blobs WHERE id = $p0", blob.StagingId);
                }
            }
            else
            {
                if (blob.StagingId == 0)
                    blobId = db.Insert("INSERT INTO blobs (hash, size, refcount, created, encoding) VALUES ($p0, $p1, 1, $p2, $p3)",
                        hash, blob.Length, now, blob.ContentEncoding);
                else
                {
                    blobId = blob.StagingId;
                    db.Exec("UPDATE blobs SET hash = $p0, size = $p1, refcount = 1, encoding = $p3 WHERE id = $p2", hash, blob.Length, blobId, blob.ContentEncoding);
                }
                if (chunk.Length > 0 || blob.ChunksWritten == 0)
                    chunk.Insert(db, blobId.Value, blob.ChunksWritten);
            }

            var source = envelope.Source;
            // What the next hops answered while the client waited: those deliveries are written as the attempt left them.
            var outcomes = new RecipientOutcome?[envelope.Recipients.Count];
            foreach (var o in cutThrough?.Outcomes ?? [])
                outcomes[o.DeliveryId] = o;
            var finished = outcomes.Length > 0 && Array.TrueForAll(outcomes, o => o?.Status is AttemptStatus.Delivered or AttemptStatus.Failed);
            BlobId = blobId.Value;
            db.Exec(InsertMessage, MessageRows.Values(envelope, headerPrefix, header, BlobId, blob.DecodedLength ?? blob.Length, now, finished));
            var deliveryIds = new long[envelope.Recipients.Count];
            for (var i = 0; i < deliveryIds.Length; i++)
            {
                var rcpt = envelope.Recipients[i];
                var route = rcpt.Route ?? RouteKey.For(RouteKey.Remote, rcpt.Address).ToString();
                if (outcomes[i] is not { } o)
                {
                    deliveryIds[i] = db.Insert("INSERT INTO deliveries (message_id, recipient, route, notify, orcpt, state, due_at) VALUES ($p0, $p1, $p2, $p3, $p4, 'queued', $p5)",
                        envelope.Id, rcpt.Address, route, (int)rcpt.Notify, rcpt.OriginalRecipient, now);
                    continue;
                }
                var (state, due, dsn, delayWarned) = MessageRows.OutcomeColumns(o, cutThrough!.Ended);
                var reply = o.Reply;
                deliveryIds[i] = db.Insert("""
                    INSERT INTO deliveries (message_id, recipient, route, notify, orcpt, state, attempts, due_at, last_remote, last_code, last_enhanced, last_text, dsn_pending, delay_warned)
                    VALUES ($p0, $p1, $p2, $p3, $p4, $p5, 1, $p6, $p7, $p8, $p9, $p10, $p11, $p12)
                    """,
                    envelope.Id, rcpt.Address, route, (int)rcpt.Notify, rcpt.OriginalRecipient, state, due, reply.RemoteHost, reply.Reply.Code, reply.Reply.Enhanced.ToString(), reply.Reply.Text,
                    dsn, delayWarned);
            }
            if (clearDsn is not null)
                foreach (var id in clearDsn)
                {
                    var kind = db.Scalar("SELECT dsn_pending FROM deliveries WHERE id = $p0", id);
                    db.Exec("UPDATE deliveries SET dsn_pending = NULL WHERE id = $p0", id);
                    db.Exec("INSERT INTO events (message_id, delivery_id, type, at, detail) SELECT message_id, id, 'dsn', $p1, $p2 FROM deliveries WHERE id = $p0",
                        id, now, $"{kind} notification queued as {envelope.Id}");
                }
            db.Exec("INSERT INTO events (message_id, type, at, detail) VALUES ($p0, 'accepted', $p1, $p2)",
                envelope.Id, now, $"from [{source.ClientAddress}] via {source.Listener}");
            if (envelope.QuarantineReason is { } reason) // why it waits for an operator: the API's events and queue show tell
                db.Exec("INSERT INTO events (message_id, type, at, detail) VALUES ($p0, 'quarantined', $p1, $p2)", envelope.Id, now, reason);
            foreach (var o in cutThrough?.Outcomes ?? []) // the first attempt, made while the client waited
                AttemptHistory(db, envelope.Id, deliveryIds[o.DeliveryId], MessageRows.OutcomeColumns(o, cutThrough!.Ended).State, o.Reply,
                    cutThrough.Started.ToUnixTimeMilliseconds(), cutThrough.Ended.ToUnixTimeMilliseconds());
            if (idempotent is not null) // a retried request with the same key gets this response, never a second message
                db.Exec("INSERT INTO idempotency (tenant, key, request_hash, status, response, created) VALUES ($p0, $p1, $p2, $p3, $p4, $p5)",
                    idempotent.Tenant, idempotent.Key, idempotent.RequestHash, idempotent.Status, idempotent.Body, now);
        }

        public override void Release() => chunk.Release();
    }

    private const string InsertMessage = $"INSERT INTO messages ({MessageRows.InsertColumns}) VALUES " +
        "($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10, $p11, $p12, $p13, $p14, $p15, $p16, $p17, $p18, $p19)";
}
