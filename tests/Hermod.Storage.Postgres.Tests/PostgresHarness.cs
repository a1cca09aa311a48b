using System.Globalization;
using System.Text.RegularExpressions;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.TestKit;
using Hermod.TestKit.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Hermod.Storage.Postgres.Tests;

/// <summary>The PostgreSQL store for the storage contract: a database of its own per test, on the run's cluster, as node <see cref="Node"/>.</summary>
public sealed partial class PostgresHarness(PostgresServer server) : StoreHarness<PostgresMessageStore>
{
    public const string Node = "node-a";

    public string ConnectionString { get; private set; } = "";

    public override async Task InitializeAsync() => ConnectionString = await server.CreateDatabaseAsync();

    public override PostgresMessageStore Open(TimeProvider time, HermodMetrics metrics, int chunkSize = ChunkSize) => Open(time, metrics, Node, chunkSize: chunkSize);

    /// <summary>The store as node <paramref name="node"/> sees it; <paramref name="nodeTimeout"/>: when it takes a silent node for dead.</summary>
    public PostgresMessageStore Open(TimeProvider time, HermodMetrics metrics, string node, bool recover = true, TimeSpan? nodeTimeout = null, int chunkSize = ChunkSize) =>
        new(new HermodOptions { NodeName = node },
            new PostgresStorageOptions { ConnectionString = ConnectionString, ChunkSize = chunkSize, MaxPool = 20, NodeTimeout = nodeTimeout ?? TimeSpan.FromSeconds(30) },
            metrics, time, NullLogger.Instance, recover);

    /// <summary>Runs <paramref name="sql"/> ($p0, $p1, ... become PostgreSQL's $1, $2, ...) on a connection of its own.</summary>
    public override async Task<long> CountAsync(string sql, params object[] values)
    {
        var positional = Parameter().Replace(sql, m => "$" + (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture));
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(positional, connection);
        foreach (var value in values)
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public override Type RefusedWrite => typeof(PostgresException);

    public override ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"\$p(\d+)")]
    private static partial Regex Parameter();
}
