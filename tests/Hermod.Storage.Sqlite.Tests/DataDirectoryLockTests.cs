using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Storage.Sqlite.Tests;

/// <summary>One server per data directory: a store that takes up unfinished work holds the directory; readers open beside it.</summary>
public sealed class DataDirectoryLockTests : IDisposable
{
    private readonly HermodOptions _options = new() { DataDir = Directory.CreateTempSubdirectory("hermod-lock-").FullName };

    private SqliteMessageStore Open(bool recover) =>
        new(_options, new SqliteStorageOptions(), new HermodMetrics(), TimeProvider.System, NullLogger.Instance, recover);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_options.DataDir, recursive: true);
    }

    [Fact]
    public async Task A_second_store_that_recovers_is_refused_naming_the_holder_and_a_reader_opens_beside_it()
    {
        var server = Open(recover: true);
        try
        {
            var refused = Assert.Throws<IOException>(() => Open(recover: true));
            Assert.Contains($"is in use by process {Environment.ProcessId}", refused.Message, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(_options.DataDir, "hermod.lock"), refused.Message, StringComparison.Ordinal);
            await using var reader = Open(recover: false);
            Assert.Empty(await reader.ListAsync(null, 10, default));
        }
        finally
        {
            await server.DisposeAsync();
        }
        await using var next = Open(recover: true); // the holder let go when it closed
        Assert.Equal($"{Environment.ProcessId}", (await File.ReadAllTextAsync(Path.Combine(_options.DataDir, "hermod.pid"))).Trim());
    }
}
