using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.TestKit.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Storage.Sqlite.Tests;

/// <summary>The SQLite store for the storage contract: a temporary data directory per test.</summary>
public sealed class SqliteHarness : StoreHarness<SqliteMessageStore>
{
    public HermodOptions Options { get; } = new() { DataDir = Directory.CreateTempSubdirectory("hermod-store-").FullName };

    public string DatabasePath => Path.Combine(Options.DataDir, "hermod.db");

    public override SqliteMessageStore Open(TimeProvider time, HermodMetrics metrics, int chunkSize = ChunkSize) =>
        new(Options, new SqliteStorageOptions { ChunkSize = chunkSize }, metrics, time, NullLogger.Instance);

    public override Task<long> CountAsync(string sql, params object[] values) => Task.FromResult(Scalar(DatabasePath, sql, values));

    public override Type RefusedWrite => typeof(SqliteException);

    /// <summary>One number from the database at <paramref name="databasePath"/> (parameters $p0, $p1, ...).</summary>
    public static long Scalar(string databasePath, string sql, params object[] values)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < values.Length; i++)
            command.Parameters.AddWithValue("$p" + i, values[i]);
        return (long)command.ExecuteScalar()!;
    }

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Options.DataDir, recursive: true);
        return ValueTask.CompletedTask;
    }
}
