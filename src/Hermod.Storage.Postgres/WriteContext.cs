using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>
/// The transaction a batch of writes runs in, and the statements they run: parameters $1, $2, ... given in order.
/// A statement whose result nobody waits for is <see cref="Queue">queued</see> and goes to the server together with
/// the next one that is waited for (one round trip for all of them, an <see cref="NpgsqlBatch"/>); the writer queues
/// BEGIN before the first, so a batch of writes that only queue costs one round trip before its COMMIT.
/// Channels named with <see cref="Notify"/> are told when the batch commits (LISTEN/NOTIFY).
/// </summary>
internal sealed class WriteContext(NpgsqlConnection connection)
{
    private readonly HashSet<string> _notify = new(StringComparer.Ordinal);
    private readonly List<NpgsqlBatchCommand> _pending = [];

    public IReadOnlyCollection<string> Notifications => _notify;

    /// <summary>Requests sent to the server and waited for, since the context was made.</summary>
    public int RoundTrips { get; private set; }

    public void Notify(string channel) => _notify.Add(channel);

    /// <summary>Forgets the queued statements and notifications of a run that was rolled back.</summary>
    public void Reset()
    {
        _notify.Clear();
        _pending.Clear();
    }

    /// <summary>A statement that returns no rows and whose row count nobody needs: sent with the next that is waited for.</summary>
    public void Queue(string sql, params object?[] values) => _pending.Add(Commands.Statement(sql, values));

    /// <summary>Runs the statement after what is queued; the rows it changed.</summary>
    public async Task<int> ExecAsync(string sql, params object?[] values)
    {
        Queue(sql, values);
        await using var batch = Take();
        await batch.ExecuteNonQueryAsync();
        return batch.BatchCommands[^1].RecordsAffected;
    }

    /// <summary>The first column of the first row the statement returns (after what is queued), or null (no row, or NULL).</summary>
    public async Task<object?> ScalarAsync(string sql, params object?[] values)
    {
        await using var reader = await ReaderAsync(sql, values);
        return await reader.ReadAsync() && !reader.IsDBNull(0) ? reader.GetValue(0) : null;
    }

    /// <summary>The rows the statement returns, after what is queued (queued statements return none).</summary>
    public async Task<NpgsqlDataReader> ReaderAsync(string sql, params object?[] values)
    {
        Queue(sql, values);
        return await Take().ExecuteReaderAsync();
    }

    /// <summary>What is queued, as one batch to send; the queue is empty again.</summary>
    private NpgsqlBatch Take()
    {
        var batch = new NpgsqlBatch(connection);
        foreach (var command in _pending)
            batch.BatchCommands.Add(command);
        _pending.Clear();
        RoundTrips++;
        return batch;
    }
}
