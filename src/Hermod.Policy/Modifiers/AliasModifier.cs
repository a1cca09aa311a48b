using Hermod.Core.Configuration;

namespace Hermod.Policy.Modifiers;

/// <summary>
/// <c>alias { table: path }</c>: expands recipients through an alias table read when the modifier is built. Each line is
/// <c>key: target1, target2</c> ('#' starts a comment, blank lines are ignored). A key is an address (matched exactly,
/// case-insensitive) or "@domain" (every address of the domain without an exact entry; there a target "@other.test"
/// keeps the local part, a full address replaces it). Targets that are keys expand again, at most
/// <see cref="MaxDepth"/> levels deep; an address met again inside its own expansion (a cycle) is kept as it is. The
/// result has no duplicates (case-insensitive, first spelling kept, order preserved) and at most
/// <see cref="MaxAddresses"/> addresses. Addresses not in the table pass unchanged.
/// </summary>
public sealed class AliasModifier : IModifier
{
    /// <summary>How many times an address is expanded along one chain; an address at this depth is kept as it is.</summary>
    public const int MaxDepth = 10;

    /// <summary>The most addresses one recipient expands into; the rest are dropped.</summary>
    public const int MaxAddresses = 1000;

    private readonly Dictionary<string, string[]> _table = new(StringComparer.OrdinalIgnoreCase);

    public AliasModifier(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known("table");
        if (ModifierText.Required(config, "table") is { } path)
            Load(config, path);
    }

    public string Name => "alias";

    public ModifierStages Stages => ModifierStages.Recipient;

    /// <summary>Keys in the table (addresses and @domains).</summary>
    public int Count => _table.Count;

    public ValueTask<IReadOnlyList<string>> RewriteRecipientAsync(string recipient, ModifierContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        return ValueTask.FromResult(Expand(recipient));
    }

    /// <summary>The addresses <paramref name="recipient"/> stands for: itself when it is not in the table.</summary>
    public IReadOnlyList<string> Expand(string recipient)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        if (Lookup(recipient) is null)
            return [recipient];
        var expansion = new Expansion(this);
        expansion.Visit(recipient, 0);
        return expansion.Result.Count > 0 ? expansion.Result : [recipient];
    }

    /// <summary>The targets of <paramref name="address"/> (an exact key first, then its @domain key), or null.</summary>
    private IEnumerable<string>? Lookup(string address)
    {
        if (_table.TryGetValue(address, out var exact))
            return exact;
        var at = address.LastIndexOf('@');
        if (at <= 0 || !_table.TryGetValue(address[at..], out var domain))
            return null;
        return Map(address[..at], domain);

        static IEnumerable<string> Map(string local, string[] targets)
        {
            foreach (var target in targets)
                yield return target.StartsWith('@') ? local + target : target;
        }
    }

    private void Load(ConfigSection config, string path)
    {
        IEnumerable<string> lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            config.Error("table", $"cannot read '{path}': {e.Message}");
            return;
        }
        var firstLine = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0)
                continue;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                config.Error("table", $"{path} line {number}: '{line}' has no ':' (write \"key: target, ...\")");
                continue;
            }
            var key = line[..colon].Trim();
            var isDomainKey = key.StartsWith('@');
            if (!(isDomainKey ? IsDomainEntry(key) : ModifierText.IsAddress(key)))
            {
                config.Error("table", $"{path} line {number}: '{key}' is not an address or @domain");
                continue;
            }
            if (firstLine.TryGetValue(key, out var first))
            {
                config.Error("table", $"{path} line {number}: '{key}' is already a key (line {first})");
                continue;
            }
            var targets = new List<string>();
            foreach (var target in line[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (target.StartsWith('@') && IsDomainEntry(target))
                {
                    if (isDomainKey)
                        targets.Add(target);
                    else
                        config.Error("table", $"{path} line {number}: '{target}' (a domain) is only a target of an @domain key");
                }
                else if (ModifierText.IsAddress(target))
                    targets.Add(target);
                else
                    config.Error("table", $"{path} line {number}: '{target}' is not an address{(isDomainKey ? " or @domain" : "")}");
            }
            if (targets.Count == 0)
            {
                config.Error("table", $"{path} line {number}: '{key}' has no targets");
                continue;
            }
            firstLine[key] = number;
            _table[key] = [.. targets];
        }
    }

    private static bool IsDomainEntry(string entry) => entry.Length > 1 && ModifierText.IsDomain(entry[1..]);

    /// <summary>One recipient's expansion: depth-first, each address expanded once.</summary>
    private sealed class Expansion(AliasModifier aliases)
    {
        private readonly HashSet<string> _kept = new(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _started = new(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _chain = new(StringComparer.OrdinalIgnoreCase);

        public List<string> Result { get; } = [];

        private bool Full => Result.Count >= MaxAddresses;

        public void Visit(string address, int depth)
        {
            if (Full)
                return;
            var targets = aliases.Lookup(address);
            if (targets is null || _chain.Contains(address))
            {
                Keep(address); // a final address, or a cycle
                return;
            }
            if (_started.Contains(address))
                return; // expanded already: its addresses are in the result
            if (depth >= MaxDepth)
            {
                Keep(address);
                return;
            }
            _started.Add(address);
            _chain.Add(address);
            foreach (var target in targets)
            {
                Visit(target, depth + 1);
                if (Full)
                    break;
            }
            _chain.Remove(address);
        }

        private void Keep(string address)
        {
            if (!Full && _kept.Add(address))
                Result.Add(address);
        }
    }
}
