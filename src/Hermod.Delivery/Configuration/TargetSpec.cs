using Hermod.Core.Configuration;

namespace Hermod.Delivery.Configuration;

/// <summary>A delivery target configured by name (targets: { archive: { type: http, url: ... } }); its section goes to the target type to read.</summary>
public sealed class TargetSpec
{
    public required string Name { get; init; }

    /// <summary>The registered target type: relay, maildir, http, or one an extension added.</summary>
    public required string Type { get; init; }

    public required ConfigSection Section { get; init; }
}
