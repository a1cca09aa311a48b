using Hermod.Core.Configuration;

namespace Hermod.Policy.Configuration;

/// <summary>A component configured by name: a check, a modifier or a stream processor, with its own options section.</summary>
public sealed class ComponentSpec
{
    /// <summary>The registered name, e.g. "spf".</summary>
    public required string Kind { get; init; }

    public required ConfigSection Section { get; init; }

    /// <summary>Checks: how long the check may take (default 30s).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Checks: what a timeout means: tempfail (default), reject or accept.</summary>
    public string? OnTimeout { get; init; }
}
