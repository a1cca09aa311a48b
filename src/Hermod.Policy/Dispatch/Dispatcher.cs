namespace Hermod.Policy.Dispatch;

/// <summary>
/// Picks the blocks a recipient goes through: the root, the source block (by authenticated user, then exact sender
/// address, then sender domain, else the default), and the destination block inside it (exact recipient address,
/// then domain, else the default). Among blocks that match equally well the first configured wins.
/// </summary>
public static class Dispatcher
{
    public static DispatchBlock SourceFor(DispatchBlock root, string sender, string? authUser)
    {
        ArgumentNullException.ThrowIfNull(root);
        return root.Source.Count == 0 ? root : Best(root.Source, sender, authUser) ?? root.Default!;
    }

    public static DispatchBlock DestinationFor(DispatchBlock source, string recipient)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Destination.Count == 0)
            return source;
        return Best(source.Destination, recipient, null) ?? source.Default!;
    }

    private static DispatchBlock? Best(IReadOnlyList<DispatchBlock> blocks, string address, string? user)
    {
        DispatchBlock? best = null;
        var bestRank = 0;
        foreach (var block in blocks)
        {
            var rank = block.Rank(address, user);
            if (rank > bestRank)
                (best, bestRank) = (block, rank);
        }
        return best;
    }
}
