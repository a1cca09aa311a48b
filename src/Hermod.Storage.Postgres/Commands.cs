using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>Commands and batch statements with positional parameters ($1, $2, ...).</summary>
internal static class Commands
{
    public static NpgsqlCommand Create(NpgsqlConnection connection, string sql, object?[] values, NpgsqlTransaction? transaction = null)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        Add(command.Parameters, values);
        return command;
    }

    /// <summary>One statement of a batch (<see cref="NpgsqlBatch"/>: several statements, one round trip).</summary>
    public static NpgsqlBatchCommand Statement(string sql, object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        Add(command.Parameters, values);
        return command;
    }

    private static void Add(NpgsqlParameterCollection parameters, object?[] values)
    {
        foreach (var value in values)
            parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
    }
}
