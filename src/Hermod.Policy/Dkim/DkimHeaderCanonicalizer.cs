using System.Text;

namespace Hermod.Policy.Dkim;

/// <summary>Header canonicalization (RFC 6376 sections 3.4.1 and 3.4.2). Header text is Latin-1: one char per byte.</summary>
public static class DkimHeaderCanonicalizer
{
    /// <summary>The name of <c>c=</c> values.</summary>
    public static string Name(DkimCanonicalization canonicalization) =>
        canonicalization == DkimCanonicalization.Relaxed ? "relaxed" : "simple";

    internal static bool TryParse(string text, out DkimCanonicalization canonicalization)
    {
        switch (text.ToLowerInvariant())
        {
            case "simple":
                canonicalization = DkimCanonicalization.Simple;
                return true;
            case "relaxed":
                canonicalization = DkimCanonicalization.Relaxed;
                return true;
            default:
                canonicalization = default;
                return false;
        }
    }

    /// <summary>
    /// Appends the canonical form of one header field to <paramref name="output"/>. <paramref name="field"/> is the whole
    /// field as it appears in the message ("Name: value" with its folding CRLFs and its final CRLF).
    /// </summary>
    public static void Append(StringBuilder output, string field, DkimCanonicalization canonicalization)
    {
        if (canonicalization == DkimCanonicalization.Simple)
        {
            output.Append(field);
            return;
        }
        var colon = field.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? field : field[..colon];
        output.Append(name.TrimEnd(' ', '\t', '\r', '\n').ToLowerInvariant()).Append(':');
        if (colon >= 0)
            AppendRelaxedValue(output, field.AsSpan(colon + 1));
        output.Append("\r\n");
    }

    /// <summary>The canonical form of one header field (see <see cref="Append"/>).</summary>
    public static string Canonicalize(string field, DkimCanonicalization canonicalization)
    {
        var output = new StringBuilder(field.Length + 2);
        Append(output, field, canonicalization);
        return output.ToString();
    }

    private static void AppendRelaxedValue(StringBuilder output, ReadOnlySpan<char> value)
    {
        // Unfold (drop CR and LF), fold every WSP run to one SP, drop WSP at both ends.
        var pendingSpace = false;
        var started = false;
        foreach (var c in value)
        {
            if (c is '\r' or '\n')
                continue;
            if (c is ' ' or '\t')
            {
                pendingSpace = started;
                continue;
            }
            if (pendingSpace)
                output.Append(' ');
            pendingSpace = false;
            started = true;
            output.Append(c);
        }
    }
}
