namespace Hermod.Policy.Dkim;

/// <summary>A DKIM tag=value list (RFC 6376 section 3.2), used by DKIM-Signature fields and key records.</summary>
internal static class DkimTagList
{
    /// <summary>Parses <paramref name="text"/>; tag names are case-sensitive, values have surrounding FWS removed.</summary>
    public static bool TryParse(string text, out Dictionary<string, string> tags, out string? error)
    {
        tags = new Dictionary<string, string>(StringComparer.Ordinal);
        error = null;
        foreach (var part in text.Split(';'))
        {
            var spec = part.Trim(' ', '\t', '\r', '\n');
            if (spec.Length == 0)
                continue;
            var equals = spec.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                error = $"tag without a value: {Shorten(spec)}";
                return false;
            }
            var name = spec[..equals].TrimEnd(' ', '\t', '\r', '\n');
            if (!IsTagName(name))
            {
                error = $"bad tag name: {Shorten(name)}";
                return false;
            }
            if (!tags.TryAdd(name, spec[(equals + 1)..].TrimStart(' ', '\t', '\r', '\n')))
            {
                error = $"duplicate tag {name}=";
                return false;
            }
        }
        return true;
    }

    /// <summary>The value without any whitespace (b=, bh=, h=, p= may be folded anywhere).</summary>
    public static string WithoutWhitespace(string value)
    {
        if (value.AsSpan().IndexOfAny(" \t\r\n") < 0)
            return value;
        return string.Concat(value.Where(c => c is not (' ' or '\t' or '\r' or '\n')));
    }

    private static bool IsTagName(string name)
    {
        if (name.Length == 0 || !char.IsAsciiLetter(name[0]))
            return false;
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
                return false;
        }
        return true;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
