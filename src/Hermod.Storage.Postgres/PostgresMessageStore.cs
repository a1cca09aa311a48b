using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>
/// The shared store: every node of a cluster on one PostgreSQL database. Writes go through this node's group-commit
/// writer (one transaction and one flush of the log for many messages); reads and claims take a pooled connection of
/// their own. Other nodes' accepted work and events reach this one by LISTEN/NOTIFY.
/// </summary>
public sealed partial class PostgresMessageStore : IMessageStore, IDeliveryQueue, IClusterRoles, IAsyncDisposable
{
    /// <summary>NOTIFY channels: work may be due; events were written; a DSN is owed.</summary>
    internal const string QueueChannel = "hermod_queue";
    private const string EventsChannel = "hermod_events";
    private const string DsnChannel = "hermod_dsn";

    private readonly NpgsqlDataSource _source;
    private readonly int _chunkSize;
    private readonly TimeProvider _time;
    private readonly GroupCommitWriter _writer;
    private readonly NotificationListener? _listener;
    private readonly NodeMonitor? _monitor;
    private readonly string _node;
    private readonly ILogger _logger;
    private int _disposed;

    /// <param name="recover">
    /// true for the process that runs the queue (the server): the work this node left unfinished in an earlier run is
    /// taken up again — its deliveries in flight become due, its staged bodies are dropped — held mail gets another
    /// look, and other nodes' notifications are listened for. false for a process that only inspects or edits the
    /// queue (the command line), possibly while this node's server runs. Only a store that recovers registers the node and
    /// heartbeats (<see cref="NodeMonitor"/>), and only it holds roles.
    /// </param>
    /// <exception cref="InvalidOperationException">The database's schema is newer than this Hermod.</exception>
    public PostgresMessageStore(HermodOptions hermod, PostgresStorageOptions options, HermodMetrics metrics, TimeProvider time, ILogger logger, bool recover = true)
    {
        ArgumentNullException.ThrowIfNull(hermod);
        ArgumentNullException.ThrowIfNull(options);
        _node = hermod.NodeName;
        _logger = logger;
        _chunkSize = options.ChunkSize;
        _time = time;
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString) { MaxPoolSize = options.MaxPool };
        if (builder.ApplicationName is null)
            builder.ApplicationName = $"hermod {_node}";
        // The same few statements run for every message: prepared once per connection, the server skips parsing and
        // planning them again (unless the connection string says otherwise).
        if (!builder.ContainsKey("Max Auto Prepare"))
            builder.MaxAutoPrepare = 64;
        _source = NpgsqlDataSource.Create(builder);
        var forceSync = Setup(recover);
        _writer = new GroupCommitWriter(_source, options.MaxBatch, forceSync, metrics, logger);
        if (!recover)
            return;
        _listener = new NotificationListener(_source, new Dictionary<string, QueueSignal>
        {
            [QueueChannel] = Signal,
            [EventsChannel] = EventsWritten,
            [DsnChannel] = DsnOwed,
        }, logger);
        _monitor = new NodeMonitor(_source, _node, options.NodeTimeout, time, Signal, logger);
    }

    /// <summary>Creates or upgrades the schema in one transaction (one node at a time); true when the server's synchronous_commit is off.</summary>
    private bool Setup(bool recover)
    {
        using var connection = _source.OpenConnection();
        using var transaction = connection.BeginTransaction();
        void Exec(string sql, params object?[] values)
        {
            using var command = Commands.Create(connection, sql, values, transaction);
            command.ExecuteNonQuery();
        }
        object? Scalar(string sql)
        {
            using var command = Commands.Create(connection, sql, [], transaction);
            return command.ExecuteScalar();
        }

        Exec("SELECT pg_advisory_xact_lock($1)", Schema.Lock);
        Exec(Schema.VersionTable);
        var version = Scalar("SELECT max(version) FROM schema_version") is int v ? v : 0;
        if (version > Schema.Version)
            throw new InvalidOperationException(
                $"database {connection.Database}: schema version {version} is newer than this Hermod, which supports version {Schema.Version}: upgrade Hermod");
        foreach (var statement in Schema.Upgrade(version).Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            Exec(statement);
        if (version == 0)
            Exec("INSERT INTO schema_version (version) VALUES ($1)", Schema.Version);
        else if (version < Schema.Version)
            Exec("UPDATE schema_version SET version = $1", Schema.Version);
        if (recover)
        {
            var now = Now;
            // this node's work from a run that ended without finishing it: nothing of it can still be in flight
            Exec("UPDATE deliveries SET state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END, lease_owner = NULL, due_at = $1 " +
                "WHERE state = 'inflight' AND lease_owner = $2", now, _node);
            // held mail gets another look with this start's configuration (a route may have been added)
            Exec("UPDATE deliveries SET state = 'queued', due_at = $1 WHERE state = 'held'", now);
            // bodies this node staged but never accepted
            Exec("DELETE FROM blob_chunks WHERE blob_id IN (SELECT id FROM blobs WHERE refcount = 0 AND owner = $1)", _node);
            Exec("DELETE FROM blobs WHERE refcount = 0 AND owner = $1", _node);
        }
        var off = (string?)Scalar("SELECT current_setting('synchronous_commit')") == "off";
        transaction.Commit(); // an upgrade is all done or not at all
        return off;
    }

    public IBlobWriter CreateBlobWriter() => new PostgresBlobWriter(this, _chunkSize);

    /// <summary>
    /// Stages one chunk of a large body (making its staging blob row with the first), in a transaction of its own that
    /// does not wait for the log to reach the disk: the accepting commit flushes it; a staged body this node leaves
    /// behind is dropped at its next start.
    /// </summary>
    internal Task StageChunkAsync(PostgresBlobWriter blob, ArraySegment<byte> data, CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var async = Commands.Create(connection, "SET LOCAL synchronous_commit = off", [], transaction))
                await async.ExecuteNonQueryAsync(cancellationToken);
            var sql = blob.StagingId == 0
                ? "WITH b AS (INSERT INTO blobs (size, refcount, created, owner) VALUES (0, 0, $1, $2) RETURNING id) " +
                  "INSERT INTO blob_chunks (blob_id, seq, data) SELECT id, 0, $3 FROM b RETURNING blob_id"
                : "INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3) RETURNING blob_id";
            object?[] values = blob.StagingId == 0 ? [Now, _node, data] : [blob.StagingId, blob.ChunksWritten, data];
            await using (var insert = Commands.Create(connection, sql, values, transaction))
                blob.StagingId = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Drops a body staged for a message that was not accepted. Never throws: with the database out of reach the rows
    /// stay, owned by this node, and its next start (or, once it is gone, another node) drops them.
    /// </summary>
    internal async Task DropStagingAsync(long stagingId)
    {
        try
        {
            await UseConnectionAsync(async connection =>
            {
                await using (var chunks = Commands.Create(connection, "DELETE FROM blob_chunks WHERE blob_id = $1", [stagingId]))
                    await chunks.ExecuteNonQueryAsync();
                await using var blob = Commands.Create(connection, "DELETE FROM blobs WHERE id = $1 AND refcount = 0", [stagingId]);
                return await blob.ExecuteNonQueryAsync();
            }, CancellationToken.None);
        }
        catch (StorageUnavailableException e)
        {
            LogStagingLeft(_logger, e, stagingId);
        }
    }

    public Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, CancellationToken cancellationToken, ReplacedHeader? header = null,
        CutThroughAttempt? cutThrough = null) =>
        AcceptAsync(envelope, headerPrefix, body, null, null, header, cutThrough);

    public Task AcceptDsnAsync(MessageEnvelope dsn, string headerPrefix, IBlobWriter body, IReadOnlyList<long> deliveryIds, CancellationToken cancellationToken) =>
        AcceptAsync(dsn, headerPrefix, body, deliveryIds, null);

    private async Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, IReadOnlyList<long>? clearDsn, IdempotentResponse? idempotent,
        ReplacedHeader? header = null, CutThroughAttempt? cutThrough = null)
    {
        var blob = (PostgresBlobWriter)body;
        await _writer.EnqueueAsync(new AcceptOp(new Accepted(envelope, headerPrefix, header, cutThrough, Now), blob, clearDsn, idempotent));
        blob.Accepted = true;
        if (cutThrough?.Outcomes.Any(o => o.Dsn != DsnKind.None) == true)
            DsnOwed.Set();
        if (QueuesWork(envelope, cutThrough))
            Signal.Set();
        EventsWritten.Set();
    }

    /// <summary>Whether the message leaves work for a queue runner (one every next hop answered for good leaves none).</summary>
    private static bool QueuesWork(MessageEnvelope envelope, CutThroughAttempt? cutThrough) =>
        cutThrough is null || cutThrough.Outcomes.Count < envelope.Recipients.Count || cutThrough.Outcomes.Any(o => o.Status == AttemptStatus.Deferred);

    public async Task<IReadOnlyList<StoredMessage>> ListAsync(DeliveryState? state, int limit, CancellationToken cancellationToken)
    {
        var filter = state is null ? "" : "WHERE id IN (SELECT message_id FROM deliveries WHERE state = $2)";
        return await ReadMessagesAsync($"""
            WITH sel AS (SELECT * FROM messages {filter} ORDER BY id LIMIT $1)
            SELECT {MessageRows.MessageColumns}, {MessageRows.DeliveryColumns}
            FROM sel m JOIN deliveries d ON d.message_id = m.id ORDER BY m.id, d.id
            """, state is null ? [limit] : [limit, MessageRows.StateName(state.Value)], cancellationToken);
    }

    public async Task<StoredMessage?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var list = await ReadMessagesAsync($"""
            SELECT {MessageRows.MessageColumns}, {MessageRows.DeliveryColumns}
            FROM messages m JOIN deliveries d ON d.message_id = m.id WHERE m.id = $1 ORDER BY d.id
            """, [id], cancellationToken);
        return list.Count == 0 ? null : list[0];
    }

    private Task<IReadOnlyList<StoredMessage>> ReadMessagesAsync(string sql, object?[] values, CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            await using var command = Commands.Create(connection, sql, values);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await MessageRows.ReadAsync(reader, cancellationToken);
        }, cancellationToken);

    public Task<bool> CopyContentAsync(string id, Stream destination, CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            long blobId;
            long skip;
            string? encoding;
            await using (var command = Commands.Create(connection,
                "SELECT m.header_prefix, m.blob_id, m.body_offset, b.encoding FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = $1", [id]))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                    return false;
                await destination.WriteAsync(reader.GetFieldValue<byte[]>(0), cancellationToken);
                blobId = reader.GetInt64(1);
                skip = reader.GetInt64(2);
                encoding = MessageRows.NullableString(reader, 3);
            }
            // Chunk by chunk: memory stays at one chunk whatever the size of the message.
            await using var body = ChunkStream.Decode(new ChunkStream((seq, ct) => ReadChunkAsync(connection, blobId, seq, ct)), encoding);
            await ChunkStream.SkipAsync(body, skip, cancellationToken);
            await body.CopyToAsync(destination, cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>One chunk of a blob, or null past its last (see <see cref="PostgresBlobWriter.OpenReadAsync"/>).</summary>
    internal Task<byte[]?> ReadChunkAsync(long blobId, int seq, CancellationToken cancellationToken) =>
        UseConnectionAsync(connection => ReadChunkAsync(connection, blobId, seq, cancellationToken), cancellationToken);

    private static async Task<byte[]?> ReadChunkAsync(NpgsqlConnection connection, long blobId, int seq, CancellationToken cancellationToken)
    {
        await using var command = Commands.Create(connection, "SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2", [blobId, seq]);
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    /// <summary>
    /// See <see cref="NodeMonitor.HoldAsync"/>; false for a store that does not recover (the command line, which runs
    /// under the same node name as the server beside it but does none of its work). A database out of reach is
    /// <see cref="StorageUnavailableException"/>.
    /// </summary>
    public async Task<bool> HoldAsync(string role, CancellationToken cancellationToken)
    {
        if (_monitor is null)
            return false;
        try
        {
            return await _monitor.HoldAsync(role, cancellationToken);
        }
        catch (Exception e) when (Unreachable.Is(e))
        {
            throw Unreachable.Wrap(e);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection of its own. A database out of reach is
    /// <see cref="StorageUnavailableException"/>, and the pool's idle connections go with it: after a restart of the
    /// server they are all dead, and each would fail once more before a new one is opened.
    /// </summary>
    private async Task<T> UseConnectionAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _source.OpenConnectionAsync(cancellationToken);
            return await work(connection);
        }
        catch (Exception e) when (Unreachable.Is(e))
        {
            _source.Clear();
            throw Unreachable.Wrap(e);
        }
    }

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Stops the heartbeat (giving this node's roles up), the listener and the writer, then closes the pool; only the
    /// first call does anything (see <see cref="StorageServiceCollectionExtensions.AddStore{TStore}"/>).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_monitor is not null)
            await _monitor.DisposeAsync();
        if (_listener is not null)
            await _listener.DisposeAsync();
        await _writer.DisposeAsync();
        await _source.DisposeAsync();
    }

    [LoggerMessage(2105, LogLevel.Warning, "A staged body (blob {BlobId}) could not be dropped; this node's next start drops it")]
    private static partial void LogStagingLeft(ILogger logger, Exception e, long blobId);
}
