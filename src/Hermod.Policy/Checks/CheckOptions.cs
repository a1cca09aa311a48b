namespace Hermod.Policy.Checks;

/// <summary>Shared helpers of the built-in checks: option validation and text that may reach a client.</summary>
internal static class CheckOptions
{
    /// <summary>Throws when <paramref name="problems"/> is not empty: a check is never built from invalid options.</summary>
    public static void ThrowIfInvalid(string check, IReadOnlyList<string> problems)
    {
        if (problems.Count > 0)
            throw new ArgumentException($"{check}: {string.Join("; ", problems)}");
    }

    /// <summary>Printable ASCII only, at most <paramref name="max"/> characters: text from DNS placed in an SMTP reply.</summary>
    public static string Sanitize(string text, int max = 200)
    {
        var chars = new char[Math.Min(text.Length, max)];
        var n = 0;
        foreach (var c in text)
        {
            if (n == chars.Length)
                break;
            chars[n++] = c is >= ' ' and <= '~' ? c : '?';
        }
        return new string(chars, 0, n).Trim();
    }

    /// <summary>The domain of an address (after the last '@'), or "" when it has none.</summary>
    public static string DomainOf(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 ? "" : address[(at + 1)..];
    }

    /// <summary>The local part of an address (before the last '@'), or the whole text when it has no '@'.</summary>
    public static string LocalPartOf(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 ? address : address[..at];
    }
}
