using Hermod.Core.Configuration;
using Hermod.Core.Storage;

namespace Hermod.Storage.Sqlite;

/// <summary>storage: { provider: sqlite, sqlite: { max_batch, chunk_size, segment_size } } — the default provider.</summary>
public sealed class SqliteStorageProvider : IStorageProvider
{
    public const string ProviderName = "sqlite";

    /// <summary>Keys that were read directly under storage: before each provider had a section of its own.</summary>
    private static readonly string[] Keys = ["max_batch", "chunk_size", "segment_size"];

    public string Name => ProviderName;

    public StorageOptions Bind(ConfigSection storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var o = new SqliteStorageOptions();
        Read(storage, o);
        foreach (var key in Keys)
            if (storage.Has(key))
            {
                storage.Warning(key, $"is deprecated: write it as storage.{ProviderName}.{key}");
                storage.Remove(key);
            }
        if (storage.Section(ProviderName) is { } own)
        {
            own.Known(Keys);
            Read(own, o);
        }
        return o;
    }

    /// <summary>Reads the keys present in <paramref name="section"/> over what <paramref name="o"/> has.</summary>
    private static void Read(ConfigSection section, SqliteStorageOptions o)
    {
        o.MaxBatch = section.Int("max_batch", 1, 100_000) ?? o.MaxBatch;
        o.ChunkSize = (int)(section.Size("chunk_size", 4096, 16L << 20) ?? o.ChunkSize);
        o.SegmentSize = section.Size("segment_size", 1L << 20, 1L << 40) ?? o.SegmentSize;
    }
}
