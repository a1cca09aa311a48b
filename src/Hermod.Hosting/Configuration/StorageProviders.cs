using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Storage.Postgres;
using Hermod.Storage.Sqlite;

namespace Hermod.Hosting.Configuration;

/// <summary>The storage providers storage.provider can name; the first is the default. A new provider is one more entry here.</summary>
internal static class StorageProviders
{
    public static readonly IReadOnlyList<IStorageProvider> All = [new SqliteStorageProvider(), new PostgresStorageProvider()];

    /// <summary>The default provider's options, as if storage: were empty.</summary>
    public static StorageOptions Default() => All[0].Bind(ConfigSection.Empty("storage"));
}
