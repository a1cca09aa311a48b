using Hermod.Core.Configuration;
using Hermod.Core.Storage;

namespace Hermod.Storage.Postgres;

/// <summary>storage: { provider: postgres, postgres: { connection_string, max_pool, node_timeout, max_batch, chunk_size } } — several nodes on one database.</summary>
public sealed class PostgresStorageProvider : IStorageProvider
{
    public const string ProviderName = "postgres";

    public string Name => ProviderName;

    public StorageOptions Bind(ConfigSection storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var o = new PostgresStorageOptions();
        if (storage.Section(ProviderName) is not { } own)
        {
            storage.ErrorAtSection(ProviderName, "is required with provider postgres (connection_string at least)");
            return o;
        }
        own.Known("connection_string", "max_pool", "node_timeout", "max_batch", "chunk_size");
        o.ConnectionString = own.RequiredString("connection_string");
        o.MaxPool = own.Int("max_pool", 1, 10_000) ?? o.MaxPool;
        if (own.Duration("node_timeout") is { } timeout)
        {
            if (timeout < TimeSpan.FromSeconds(1))
                own.Error("node_timeout", "must be at least 1s");
            else
                o.NodeTimeout = timeout;
        }
        o.MaxBatch = own.Int("max_batch", 1, 100_000) ?? o.MaxBatch;
        o.ChunkSize = (int)(own.Size("chunk_size", 4096, 16L << 20) ?? o.ChunkSize);
        return o;
    }
}
