using Hermod.Core.Smtp;
using Hermod.Policy.Pipeline;

namespace Hermod.Policy.Dispatch;

/// <summary>
/// A built dispatch block (see Hermod.Policy.Configuration.DispatchBlockOptions): what it matches, its own checks and
/// modifiers, and how it ends — nested blocks with a default, targets, or a refusal.
/// </summary>
public sealed class DispatchBlock
{
    public string Key { get; init; } = "";
    public IReadOnlySet<string> Addresses { get; init; } = new HashSet<string>();
    public IReadOnlySet<string> Domains { get; init; } = new HashSet<string>();
    public IReadOnlySet<string> Users { get; init; } = new HashSet<string>();
    public IReadOnlyList<ConfiguredCheck> Checks { get; init; } = [];
    public IReadOnlyList<IModifier> Modifiers { get; init; } = [];
    public IReadOnlyList<DispatchBlock> Source { get; init; } = [];
    public IReadOnlyList<DispatchBlock> Destination { get; init; } = [];
    public DispatchBlock? Default { get; init; }
    /// <summary>Target names; null when the block ends otherwise.</summary>
    public IReadOnlyList<string>? DeliverTo { get; init; }
    public SmtpReply? Reject { get; init; }

    /// <summary>How well this block matches: 3 an authenticated user, 2 the exact address, 1 the domain, 0 not at all.</summary>
    internal int Rank(string address, string? user)
    {
        if (user is not null && Users.Contains(user))
            return 3;
        if (address.Length == 0)
            return 0; // the null sender matches only a default
        if (Addresses.Contains(address))
            return 2;
        var at = address.LastIndexOf('@');
        return at >= 0 && Domains.Contains(address[(at + 1)..]) ? 1 : 0;
    }
}

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
