using Hermod.Core.Configuration;

namespace Hermod.Policy.Modifiers;

/// <summary>
/// <c>remove_plus_address { separator: "+", domains: [] }</c>: drops the detail of subaddressed recipients,
/// "alice+tag@example.test" → "alice@example.test" (from the first separator to the '@'). With <c>domains</c>, only
/// recipients at those domains are changed. A local part that starts with the separator is left alone; the sender is never changed.
/// </summary>
public sealed class RemovePlusAddressModifier : IModifier
{
    private readonly string _separator = "+";
    private readonly HashSet<string> _domains = new(StringComparer.OrdinalIgnoreCase);

    public RemovePlusAddressModifier(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known("separator", "domains");
        if (config.String("separator") is { } separator)
        {
            if (separator.Length == 0 || separator.Contains('@', StringComparison.Ordinal) || HasSpaceOrControl(separator))
                config.Error("separator", $"'{separator}' is not a separator: it must be non-empty, without '@', spaces or control characters");
            else
                _separator = separator;
        }
        foreach (var domain in config.Strings("domains") ?? [])
        {
            if (ModifierText.IsDomain(domain))
                _domains.Add(domain);
            else
                config.Error("domains", $"'{domain}' is not a domain name");
        }
    }

    public string Name => "remove_plus_address";

    public ModifierStages Stages => ModifierStages.Recipient;

    public ValueTask<IReadOnlyList<string>> RewriteRecipientAsync(string recipient, ModifierContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        return ValueTask.FromResult<IReadOnlyList<string>>([Strip(recipient)]);
    }

    /// <summary>The address without its detail, or <paramref name="address"/> itself.</summary>
    public string Strip(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        if (at <= 0 || (_domains.Count > 0 && !_domains.Contains(address[(at + 1)..])))
            return address;
        var cut = address.AsSpan(0, at).IndexOf(_separator, StringComparison.Ordinal);
        return cut > 0 ? string.Concat(address.AsSpan(0, cut), address.AsSpan(at)) : address;
    }

    private static bool HasSpaceOrControl(string text)
    {
        foreach (var c in text)
            if (char.IsWhiteSpace(c) || char.IsControl(c))
                return true;
        return false;
    }
}
