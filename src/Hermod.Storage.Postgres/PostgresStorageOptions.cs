using Hermod.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Storage.Postgres;

/// <summary>The shared store's options (storage: with provider postgres): where the database is, and how many connections a node may hold.</summary>
public sealed class PostgresStorageOptions : StorageOptions
{
    public override string Provider => PostgresStorageProvider.ProviderName;

    /// <summary>An Npgsql connection string (Host, Port, Username, Password, Database, ...).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Most connections one node holds open to the database.</summary>
    public int MaxPool { get; set; } = 50;

    /// <summary>How long a node may go without a heartbeat before the others take it for dead and release its deliveries in flight.</summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most writes one group commit carries.</summary>
    public int MaxBatch { get; set; } = 512;

    /// <summary>Body bytes buffered per message before a chunk goes to the database.</summary>
    public int ChunkSize { get; set; } = 256 * 1024;

    public override void AddStore(IServiceCollection services, bool recover) => services.AddPostgresStorage(this, recover);
}
