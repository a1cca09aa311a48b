namespace Hermod.Core.Configuration;

/// <summary>A node of the raw configuration tree: YAML first, environment overrides on top.</summary>
public abstract class ConfigNode
{
    /// <summary>Where the value came from, for error messages: "hermod.yaml:12" or "environment HERMOD_X".</summary>
    public string Origin { get; set; } = "";
}
