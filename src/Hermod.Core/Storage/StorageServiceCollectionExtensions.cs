using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hermod.Core.Storage;

/// <summary>What every storage provider registers the same way.</summary>
public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// One <typeparamref name="TStore"/> made by <paramref name="create"/>, as every storage contract (see
    /// <see cref="StorageOptions.AddStore"/>); TryAdd: what is registered before stays. The container disposes the store
    /// once for each contract it was resolved as, so disposing it again must be harmless (the storage contract tests hold
    /// every provider to that).
    /// </summary>
    public static IServiceCollection AddStore<TStore>(this IServiceCollection services, Func<IServiceProvider, TStore> create)
        where TStore : class, IMessageStore, IDeliveryQueue, ISubmissionStore, IRetentionStore, IApiStore, IClusterRoles
    {
        services.TryAddSingleton(create);
        services.TryAddSingleton<IMessageStore>(sp => sp.GetRequiredService<TStore>());
        services.TryAddSingleton<IDeliveryQueue>(sp => sp.GetRequiredService<TStore>());
        services.TryAddSingleton<ISubmissionStore>(sp => sp.GetRequiredService<TStore>());
        services.TryAddSingleton<IRetentionStore>(sp => sp.GetRequiredService<TStore>());
        services.TryAddSingleton<IApiStore>(sp => sp.GetRequiredService<TStore>());
        services.TryAddSingleton<IClusterRoles>(sp => sp.GetRequiredService<TStore>());
        return services;
    }
}
