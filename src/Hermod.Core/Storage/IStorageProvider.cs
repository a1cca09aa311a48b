using Hermod.Core.Configuration;

namespace Hermod.Core.Storage;

/// <summary>A storage provider, chosen by storage.provider: it reads its own keys of the storage: section.</summary>
public interface IStorageProvider
{
    /// <summary>The value of storage.provider that chooses it, e.g. "sqlite".</summary>
    string Name { get; }

    /// <summary>Reads the provider's keys of <paramref name="storage"/> (and knows "provider"); problems go to the section's errors.</summary>
    StorageOptions Bind(ConfigSection storage);
}
