using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Core.Storage;

/// <summary>The storage: section as its provider (<see cref="IStorageProvider"/>) read it; it registers the provider's store.</summary>
public abstract class StorageOptions
{
    /// <summary>storage.provider: the name of the provider that read the section.</summary>
    public abstract string Provider { get; }

    /// <summary>
    /// Registers the store as <see cref="IMessageStore"/>, <see cref="IDeliveryQueue"/>, <see cref="ISubmissionStore"/>,
    /// <see cref="IRetentionStore"/>, <see cref="IApiStore"/> and <see cref="IClusterRoles"/>, with TryAdd (a store registered
    /// before stays).
    /// </summary>
    /// <param name="recover">
    /// true for the process that runs the queue (the server): work an earlier run left unfinished is taken up again.
    /// false for a process that only inspects or edits the queue (the command line, check-config), possibly while a
    /// server runs: that work is the running server's, not left over.
    /// </param>
    public abstract void AddStore(IServiceCollection services, bool recover);
}
