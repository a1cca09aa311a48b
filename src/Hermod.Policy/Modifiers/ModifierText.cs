using Hermod.Core.Configuration;

namespace Hermod.Policy.Modifiers;

/// <summary>Shared checks of the built-in modifiers: field names, addresses and domains.</summary>
internal static class ModifierText
{
    /// <summary>An RFC 5322 field name: one or more printable ASCII characters (33..126) other than ':'.</summary>
    public static bool IsFieldName(string name)
    {
        if (name.Length == 0)
            return false;
        foreach (var c in name)
            if (c is < '!' or > '~' or ':')
                return false;
        return true;
    }

    /// <summary>A plausible mailbox: exactly one '@' with a non-empty local part and domain, no whitespace or control characters.</summary>
    public static bool IsAddress(string address)
    {
        var at = address.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at == address.Length - 1 || address.IndexOf('@', at + 1) >= 0)
            return false;
        foreach (var c in address)
            if (char.IsWhiteSpace(c) || char.IsControl(c))
                return false;
        return true;
    }

    /// <summary>A domain name: dot-separated labels of letters, digits and '-' (not at either end of a label), at most 253 characters.</summary>
    public static bool IsDomain(string name)
    {
        if (name.Length is 0 or > 253)
            return false;
        foreach (var label in name.Split('.'))
            if (!IsLabel(label))
                return false;
        return true;
    }

    private static bool IsLabel(string label)
    {
        if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            return false;
        foreach (var c in label)
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                return false;
        return true;
    }

    /// <summary>The domain of an address (after the last '@'), or "" when it has none.</summary>
    public static string DomainOf(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 ? "" : address[(at + 1)..];
    }

    /// <summary>A required single value: null (and "is required" reported, unless the getter reported another problem) when missing.</summary>
    public static string? Required(ConfigSection config, string key)
    {
        var errors = config.Errors.Count;
        var value = config.String(key);
        if (value is null && config.Errors.Count == errors)
            config.Error(key, "is required");
        return value;
    }

    /// <summary>Reports a list of field names: every entry must be a valid field name, the list must not be empty.</summary>
    public static List<string>? FieldNames(ConfigSection config, string key, bool allowEmpty)
    {
        if (config.Strings(key) is not { } names)
            return null;
        if (names.Count == 0 && !allowEmpty)
            config.Error(key, "must list at least one header field name");
        foreach (var name in names)
            if (!IsFieldName(name))
                config.Error(key, $"'{name}' is not a valid header field name (printable ASCII without spaces or ':')");
        return names;
    }
}
