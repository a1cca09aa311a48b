namespace Hermod.Core.Configuration;

/// <summary>A list of nodes.</summary>
public sealed class ConfigList : ConfigNode
{
    public List<ConfigNode> Items { get; } = [];
}
