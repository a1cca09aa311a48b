using Hermod.Core.Smtp;
using Hermod.Policy.Checks;
using Hermod.Policy.Modifiers;

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
