namespace Hermod.Core.Configuration;

/// <summary>A mapping of keys (compared without case) to nodes.</summary>
public sealed class ConfigMap : ConfigNode
{
    public Dictionary<string, ConfigNode> Entries { get; } = new(StringComparer.OrdinalIgnoreCase);
}
