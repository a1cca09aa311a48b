namespace Hermod.Core.Configuration;

/// <summary>Thrown when configuration cannot be used; each line names where, which key and why.</summary>
public sealed class ConfigException(IReadOnlyList<string> errors)
    : Exception("invalid configuration:\n  " + string.Join("\n  ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
