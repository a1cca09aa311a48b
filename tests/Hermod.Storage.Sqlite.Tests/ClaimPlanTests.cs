using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Storage.Sqlite.Tests;

/// <summary>A claim reads the due index in order and stops: nothing in its plan grows with the backlog.</summary>
public sealed class ClaimPlanTests : IDisposable
{
    private readonly HermodOptions _options = new() { DataDir = Directory.CreateTempSubdirectory("hermod-claim-").FullName };

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_options.DataDir, recursive: true);
    }

    [Fact]
    public async Task Due_deliveries_come_off_the_due_index_without_a_sort_or_a_grouping()
    {
        string path;
        await using (var store = new SqliteMessageStore(_options, new SqliteStorageOptions(), new HermodMetrics(), TimeProvider.System, NullLogger.Instance))
            path = store.DatabasePath;
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + SqliteMessageStore.DueInOrder;
        command.Parameters.AddWithValue("$p0", 0L);
        var plan = new List<string>();
        using (var reader = command.ExecuteReader())
            while (reader.Read())
                plan.Add(reader.GetString(3));
        var step = Assert.Single(plan);
        Assert.Contains("USING INDEX deliveries_due (due_at<?)", step, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", step, StringComparison.Ordinal);
    }
}
