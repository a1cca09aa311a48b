using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;

namespace Hermod.Storage.Sqlite;

/// <summary>API keys (stored as SHA-256 of their secret part), idempotent responses, attempt and event history.</summary>
public sealed partial class SqliteMessageStore : IApiStore
{
    public async Task<string> CreateApiKeyAsync(string tenant, CancellationToken cancellationToken)
    {
        var (key, id, secretHash) = ApiKeys.Create();
        await _writer.EnqueueAsync(new ExecOp("INSERT INTO api_keys (tenant, prefix, hash, created) VALUES ($p0, $p1, $p2, $p3)", tenant, id, secretHash, Now));
        return key;
    }

    public async Task<string?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (!ApiKeys.TryParse(key, out var id, out var secret))
            return null;
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tenant, hash FROM api_keys WHERE prefix = $prefix";
        command.Parameters.AddWithValue("$prefix", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && ApiKeys.Matches((byte[])reader.GetValue(1), secret) ? reader.GetString(0) : null;
    }

    public async Task<IdempotentResponse?> FindIdempotentAsync(string tenant, string key, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_hash, status, response FROM idempotency WHERE tenant = $tenant AND key = $key";
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new IdempotentResponse(tenant, key, (byte[])reader.GetValue(0), reader.GetInt32(1), reader.GetString(2))
            : null;
    }

    public Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, IdempotentResponse? idempotent, CancellationToken cancellationToken,
        ReplacedHeader? header = null, CutThroughAttempt? cutThrough = null) =>
        AcceptAsync(envelope, headerPrefix, body, null, idempotent, header, cutThrough);

    public async Task<IReadOnlyList<AttemptView>> AttemptsAsync(string messageId, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT a.delivery_id, a.started, a.ended, a.remote_host, a.code, a.enhanced, a.text
            FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.message_id = $id ORDER BY a.id
            """;
        command.Parameters.AddWithValue("$id", messageId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await MessageRows.ReadAttemptsAsync(reader, cancellationToken);
    }

    public async Task<IReadOnlyList<DeliveryEvent>> EventsAsync(string? messageId, string? tenant, long after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT e.id, e.message_id, e.delivery_id, d.recipient, e.type, e.at, e.detail, (SELECT tenant FROM messages WHERE id = e.message_id)
            FROM events e LEFT JOIN deliveries d ON d.id = e.delivery_id
            WHERE e.id > $after AND ($message IS NULL OR e.message_id = $message)
              AND ($tenant IS NULL OR e.message_id IN (SELECT id FROM messages WHERE tenant = $tenant))
            ORDER BY e.id LIMIT $limit
            """;
        command.Parameters.AddWithValue("$after", after);
        command.Parameters.AddWithValue("$message", (object?)messageId ?? DBNull.Value);
        command.Parameters.AddWithValue("$tenant", (object?)tenant ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await MessageRows.ReadEventsAsync(reader, cancellationToken);
    }

    public QueueSignal EventsWritten { get; } = new();

    public async Task<long> WebhookCursorAsync(string url, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT last_event FROM webhook_cursors WHERE url = $url";
        command.Parameters.AddWithValue("$url", url);
        return await command.ExecuteScalarAsync(cancellationToken) is long last ? last : 0;
    }

    public Task SaveWebhookCursorAsync(string url, long lastEvent, CancellationToken cancellationToken) =>
        _writer.EnqueueAsync(new ExecOp("INSERT INTO webhook_cursors (url, last_event) VALUES ($p0, $p1) ON CONFLICT (url) DO UPDATE SET last_event = $p1",
            url, lastEvent));

    /// <summary>One statement through the writer.</summary>
    private sealed class ExecOp(string sql, params object?[] values) : WriteOp
    {
        public override void Execute(WriteContext db) => db.Exec(sql, values);
    }
}
