using Hermod.Core.Configuration;
using Hermod.Core.Storage;

namespace Hermod.Storage.Sqlite;

/// <summary>storage: { provider: sqlite, max_batch, chunk_size, segment_size } — the default provider.</summary>
public sealed class SqliteStorageProvider : IStorageProvider
{
    public const string ProviderName = "sqlite";

    public string Name => ProviderName;

    public StorageOptions Bind(ConfigSection storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        storage.Known("provider", "max_batch", "chunk_size", "segment_size");
        var o = new SqliteStorageOptions();
        o.MaxBatch = storage.Int("max_batch", 1, 100_000) ?? o.MaxBatch;
        o.ChunkSize = (int)(storage.Size("chunk_size", 4096, 16L << 20) ?? o.ChunkSize);
        o.SegmentSize = storage.Size("segment_size", 1L << 20, 1L << 40) ?? o.SegmentSize;
        return o;
    }
}
