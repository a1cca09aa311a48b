using System.Text;

namespace Hermod.Policy.Headers;

/// <summary>One header field: its name and the whole field as it appears (folding and the final CRLF included; one char per byte).</summary>
public sealed record HeaderField(string Name, string Raw)
{
    /// <summary>The value: after the colon, unfolded, trimmed.</summary>
    public string Value => Raw[(Raw.IndexOf(':', StringComparison.Ordinal) + 1)..].Replace("\r\n", "", StringComparison.Ordinal).Trim();

    /// <summary>A new field from text: the value is written as UTF-8 (folded lines in <paramref name="value"/> must use CRLF + whitespace).</summary>
    public static HeaderField Create(string name, string value) =>
        new(name, Encoding.Latin1.GetString(Encoding.UTF8.GetBytes($"{name}: {value}\r\n")));
}
