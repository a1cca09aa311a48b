namespace Hermod.Mime.Syntax;

/// <summary>A parsed media type: <c>type/subtype</c> (lower case) and its parameters (RFC 2045 section 5.1).</summary>
internal sealed class MediaType
{
    private MediaType(string type, string subtype, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        Type = type;
        Subtype = subtype;
        Parameters = parameters;
    }

    public string Type { get; }

    public string Subtype { get; }

    public string Value => Type + "/" + Subtype;

    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; }

    /// <summary>RFC 2045 token character: printable ASCII except space and tspecials.</summary>
    public static bool IsTokenChar(char c) => c is > ' ' and <= '~' and not ('(' or ')' or '<' or '>' or '@' or ',' or ';' or ':' or '\\' or '"' or '/' or '[' or ']' or '?' or '=');

    public static bool IsToken(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
            return false;
        foreach (var c in s)
        {
            if (!IsTokenChar(c))
                return false;
        }
        return true;
    }

    public static bool TryParse(string text, out MediaType? mediaType)
    {
        mediaType = null;
        var s = text.AsSpan();
        var pos = 0;
        SkipSpace(s, ref pos);
        var type = Token(s, ref pos);
        if (type.IsEmpty || pos >= s.Length || s[pos] != '/')
            return false;
        pos++;
        var subtype = Token(s, ref pos);
        if (subtype.IsEmpty)
            return false;
        var parameters = new List<KeyValuePair<string, string>>();
        while (true)
        {
            SkipSpace(s, ref pos);
            if (pos == s.Length)
                break;
            if (s[pos] != ';')
                return false;
            pos++;
            SkipSpace(s, ref pos);
            if (pos == s.Length)
                break; // a trailing ';' is common and harmless
            var name = Token(s, ref pos);
            if (name.IsEmpty || pos >= s.Length || s[pos] != '=')
                return false;
            pos++;
            string value;
            if (pos < s.Length && s[pos] == '"')
            {
                if (!QuotedString(s, ref pos, out value))
                    return false;
            }
            else
            {
                var token = Token(s, ref pos);
                if (token.IsEmpty)
                    return false;
                value = token.ToString();
            }
            parameters.Add(new(name.ToString().ToLowerInvariant(), value));
        }
        mediaType = new MediaType(type.ToString().ToLowerInvariant(), subtype.ToString().ToLowerInvariant(), parameters);
        return true;
    }

    private static void SkipSpace(ReadOnlySpan<char> s, ref int pos)
    {
        while (pos < s.Length && s[pos] is ' ' or '\t')
            pos++;
    }

    private static ReadOnlySpan<char> Token(ReadOnlySpan<char> s, ref int pos)
    {
        var start = pos;
        while (pos < s.Length && IsTokenChar(s[pos]))
            pos++;
        return s[start..pos];
    }

    private static bool QuotedString(ReadOnlySpan<char> s, ref int pos, out string value)
    {
        var sb = new System.Text.StringBuilder();
        for (pos++; pos < s.Length; pos++)
        {
            var c = s[pos];
            if (c == '"')
            {
                pos++;
                value = sb.ToString();
                return true;
            }
            if (c == '\\' && pos + 1 < s.Length)
                c = s[++pos];
            if (c is < ' ' or > '~')
                break;
            sb.Append(c);
        }
        value = "";
        return false;
    }
}
