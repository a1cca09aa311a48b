namespace Hermod.Policy.Configuration;

/// <summary>The policy pipelines (pipelines:) by name; SMTP listeners and HTTP submission name the one they use.</summary>
public sealed class PolicyOptions
{
    public Dictionary<string, DispatchBlockOptions> Pipelines { get; set; } = new(StringComparer.Ordinal);
}
