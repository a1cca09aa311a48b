using Hermod.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Storage.Sqlite;

/// <summary>The embedded store's options (storage: with provider sqlite); the database and body segments live in data_dir.</summary>
public sealed class SqliteStorageOptions : StorageOptions
{
    public override string Provider => SqliteStorageProvider.ProviderName;

    /// <summary>Most commits one group commit carries.</summary>
    public int MaxBatch { get; set; } = 512;

    /// <summary>Body bytes buffered per message before a chunk goes to the blob store.</summary>
    public int ChunkSize { get; set; } = 256 * 1024;

    /// <summary>Size at which a body segment file (large chunks) is full and the next one starts.</summary>
    public long SegmentSize { get; set; } = 64L * 1024 * 1024;

    public override void AddStore(IServiceCollection services, bool recover) => services.AddSqliteStorage(this, recover);
}
