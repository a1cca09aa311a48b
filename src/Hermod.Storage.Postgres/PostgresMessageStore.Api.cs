using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;

namespace Hermod.Storage.Postgres;

/// <summary>API keys (stored as SHA-256 of their secret part), idempotent responses, attempt and event history — shared by every node.</summary>
public sealed partial class PostgresMessageStore : IApiStore
{
    public async Task<string> CreateApiKeyAsync(string tenant, CancellationToken cancellationToken)
    {
        var (key, id, secretHash) = ApiKeys.Create();
        await _writer.EnqueueAsync(new ExecOp("INSERT INTO api_keys (tenant, prefix, hash, created) VALUES ($1, $2, $3, $4)", tenant, id, secretHash, Now));
        return key;
    }

    public Task<string?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (!ApiKeys.TryParse(key, out var id, out var secret))
            return Task.FromResult<string?>(null);
        return UseConnectionAsync(async connection =>
        {
            await using var command = Commands.Create(connection, "SELECT tenant, hash FROM api_keys WHERE prefix = $1", [id]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) && ApiKeys.Matches(reader.GetFieldValue<byte[]>(1), secret) ? reader.GetString(0) : null;
        }, cancellationToken);
    }

    public Task<IdempotentResponse?> FindIdempotentAsync(string tenant, string key, CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            await using var command = Commands.Create(connection, "SELECT request_hash, status, response FROM idempotency WHERE tenant = $1 AND key = $2", [tenant, key]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new IdempotentResponse(tenant, key, reader.GetFieldValue<byte[]>(0), reader.GetInt32(1), reader.GetString(2))
                : null;
        }, cancellationToken);

    public Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, IdempotentResponse? idempotent, CancellationToken cancellationToken,
        ReplacedHeader? header = null, CutThroughAttempt? cutThrough = null) =>
        AcceptAsync(envelope, headerPrefix, body, null, idempotent, header, cutThrough);

    public Task<IReadOnlyList<AttemptView>> AttemptsAsync(string messageId, CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            await using var command = Commands.Create(connection, """
                SELECT a.delivery_id, a.started, a.ended, a.remote_host, a.code, a.enhanced, a.text
                FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.message_id = $1 ORDER BY a.id
                """, [messageId]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await MessageRows.ReadAttemptsAsync(reader, cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// Event ids come from a sequence, and transactions on several nodes commit in another order than they took their
    /// ids: the feed shows an event only once every transaction older than the one that wrote it has ended, so a
    /// cursor never passes an event that commits later.
    /// </summary>
    public Task<IReadOnlyList<DeliveryEvent>> EventsAsync(string? messageId, string? tenant, long after, int limit, CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            await using var command = Commands.Create(connection, """
                SELECT e.id, e.message_id, e.delivery_id, d.recipient, e.type, e.at, e.detail, (SELECT tenant FROM messages WHERE id = e.message_id)
                FROM events e LEFT JOIN deliveries d ON d.id = e.delivery_id
                WHERE e.id > $1 AND ($2::text IS NULL OR e.message_id = $2) AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
                  AND ($3::text IS NULL OR e.message_id IN (SELECT id FROM messages WHERE tenant = $3))
                ORDER BY e.id LIMIT $4
                """, [after, messageId, tenant, limit]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await MessageRows.ReadEventsAsync(reader, cancellationToken);
        }, cancellationToken);

    public QueueSignal EventsWritten { get; } = new();

    public Task<long> WebhookCursorAsync(string url, CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            await using var command = Commands.Create(connection, "SELECT last_event FROM webhook_cursors WHERE url = $1", [url]);
            return await command.ExecuteScalarAsync(cancellationToken) is long last ? last : 0;
        }, cancellationToken);

    public Task SaveWebhookCursorAsync(string url, long lastEvent, CancellationToken cancellationToken) =>
        _writer.EnqueueAsync(new ExecOp("INSERT INTO webhook_cursors (url, last_event) VALUES ($1, $2) ON CONFLICT (url) DO UPDATE SET last_event = $2",
            url, lastEvent));

    /// <summary>One statement through the writer.</summary>
    private sealed class ExecOp(string sql, params object?[] values) : WriteOp
    {
        public override Task ExecuteAsync(WriteContext db) => db.ExecAsync(sql, values);
    }
}
