namespace Hermod.Policy.Spf;

/// <summary>A modifier other than redirect and exp: kept, never evaluated (section 6).</summary>
public sealed record SpfModifier(string Name, string Value);
