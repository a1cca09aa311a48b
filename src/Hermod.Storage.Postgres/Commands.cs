using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>Commands with positional parameters ($1, $2, ...), for the writer and for reads on a connection of their own.</summary>
internal static class Commands
{
    public static NpgsqlCommand Create(NpgsqlConnection connection, string sql, object?[] values, NpgsqlTransaction? transaction = null)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        return command;
    }
}
