using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>
/// The transaction a batch of writes runs in, and the commands they run: one statement each, parameters $1, $2, ...
/// given in order. Channels named with <see cref="Notify"/> are told when the batch commits (LISTEN/NOTIFY).
/// </summary>
internal sealed class WriteContext(NpgsqlConnection connection, NpgsqlTransaction transaction)
{
    private readonly HashSet<string> _notify = new(StringComparer.Ordinal);

    public NpgsqlConnection Connection => connection;

    public NpgsqlTransaction Transaction => transaction;

    public IReadOnlyCollection<string> Notifications => _notify;

    public void Notify(string channel) => _notify.Add(channel);

    /// <summary>Forgets the notifications of a run that was rolled back.</summary>
    public void Reset() => _notify.Clear();

    public NpgsqlCommand Command(string sql, params object?[] values) => Commands.Create(connection, sql, values, transaction);

    public async Task<int> ExecAsync(string sql, params object?[] values)
    {
        await using var command = Command(sql, values);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>The first column of the first row, or null (no row, or NULL).</summary>
    public async Task<object?> ScalarAsync(string sql, params object?[] values)
    {
        await using var command = Command(sql, values);
        return await command.ExecuteScalarAsync() is { } value and not DBNull ? value : null;
    }
}
