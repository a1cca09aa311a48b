namespace Hermod.Core.Storage;

/// <summary>
/// Work that runs on one node of a cluster at a time (DSNs, webhooks): a role is named, and the node that holds it does
/// that work. A role stays with its node while that node heartbeats and passes to the first node that asks after it is
/// dead; a node that stops cleanly gives its roles up at once. A store that is the only server of its data holds every
/// role; a store opened by the command line (no recovery) holds none.
/// </summary>
public interface IClusterRoles
{
    /// <summary>True when this node holds <paramref name="role"/> now, taking it when nobody alive does.</summary>
    Task<bool> HoldAsync(string role, CancellationToken cancellationToken);
}
