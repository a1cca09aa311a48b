using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Storage.Postgres;

/// <summary>Registers the PostgreSQL store.</summary>
public static class PostgresStorageServiceCollectionExtensions
{
    /// <summary>
    /// One <see cref="PostgresMessageStore"/> on the configured database, for this node (<see cref="HermodOptions.NodeName"/>;
    /// <see cref="HermodOptions"/> must be registered), as every storage contract; TryAdd: what is registered before stays.
    /// </summary>
    /// <param name="recover">See <see cref="StorageOptions.AddStore"/>.</param>
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services, PostgresStorageOptions options, bool recover = true)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HermodMetrics>();
        return services.AddStore(sp => new PostgresMessageStore(sp.GetRequiredService<HermodOptions>(), options, sp.GetRequiredService<HermodMetrics>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetService<ILoggerFactory>()?.CreateLogger("Hermod.Storage") ?? NullLogger.Instance, recover));
    }
}
