namespace Hermod.Core.Storage;

/// <summary>
/// The route of a delivery: which target takes it and for which destination domain. Deliveries of one message
/// with one route go in one attempt (one SMTP transaction, one HTTP request). Written "domain" for the default
/// <c>remote</c> target (MX delivery) and "target:domain" for the others.
/// </summary>
public readonly record struct RouteKey(string Target, string Domain)
{
    /// <summary>The built-in target that delivers to the domain's MX hosts.</summary>
    public const string Remote = "remote";

    /// <summary>The built-in target that holds mail for an operator: "quarantine:" + the route it goes on when released.</summary>
    public const string Quarantine = "quarantine";

    /// <summary>The built-in target that drops the recipient (the pipeline answers for it; nothing is queued).</summary>
    public const string Discard = "discard";

    /// <summary>The targets every configuration has; <c>targets:</c> may not define these names.</summary>
    public static readonly IReadOnlyList<string> BuiltInTargets = [Remote, Discard, Quarantine];

    public override string ToString() => Target == Remote ? Domain : $"{Target}:{Domain}";

    public static RouteKey Parse(string route)
    {
        var colon = route.IndexOf(':', StringComparison.Ordinal);
        return colon <= 0 || route.StartsWith('[') ? new RouteKey(Remote, route) : new RouteKey(route[..colon], route[(colon + 1)..]);
    }

    /// <summary>The route of <paramref name="address"/> at <paramref name="target"/>: its domain in lower case (the bare "postmaster" has none).</summary>
    public static RouteKey For(string target, string address)
    {
        var at = address.LastIndexOf('@');
        return new RouteKey(target, at < 0 ? "" : address[(at + 1)..].ToLowerInvariant());
    }
}
