namespace Hermod.Core.Configuration;

/// <summary>A single value; null for YAML's null (an empty value, ~ or null).</summary>
public sealed class ConfigScalar(string? value) : ConfigNode
{
    public string? Value { get; set; } = value;
}
