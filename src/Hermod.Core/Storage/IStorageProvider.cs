using Hermod.Core.Configuration;

namespace Hermod.Core.Storage;

/// <summary>
/// A storage provider, chosen by storage.provider: it reads its own settings, under storage.&lt;name&gt;: (and may
/// take keys it once read directly under storage: off the section, with a warning). The host refuses any other key.
/// </summary>
public interface IStorageProvider
{
    /// <summary>The value of storage.provider that chooses it, e.g. "sqlite".</summary>
    string Name { get; }

    /// <summary>Reads the provider's settings from <paramref name="storage"/>; problems go to the section's errors.</summary>
    StorageOptions Bind(ConfigSection storage);
}
