using System.Buffers;
using System.Text;

namespace Hermod.Policy.Dkim;

/// <summary>The result of one DKIM signature (RFC 8601 section 2.7.1).</summary>
public enum DkimStatus
{
    Pass,
    Fail,
    Neutral,
    TempError,
    PermError,
}

/// <summary>
/// The outcome of verifying one DKIM-Signature field: status, reason (for everything but pass) and the tags an
/// Authentication-Results header reports. Fields the signature did not carry (or that could not be parsed) are null.
/// </summary>
public sealed record DkimResult(DkimStatus Status, string? Reason, string? Domain, string? Selector, string? Algorithm,
    string? Identity, string? Signature)
{
    private static readonly SearchValues<char> Special = SearchValues.Create("()<>,;:\\\"[]?=/ \t@");

    /// <summary>The Authentication-Results fragment when the message has no signature.</summary>
    public const string None = "dkim=none";

    /// <summary>The first 8 characters of b= (header.b, RFC 6008).</summary>
    public string? ShortSignature => Signature is null ? null : Signature[..Math.Min(8, Signature.Length)];

    /// <summary>
    /// The Authentication-Results method fragment, e.g.
    /// "dkim=pass header.d=example.org header.s=sel header.a=rsa-sha256 header.b=abcdefgh".
    /// </summary>
    public string AuthenticationResults
    {
        get
        {
            var text = new StringBuilder("dkim=").Append(Status.ToString().ToLowerInvariant());
            if (Reason is not null)
                text.Append(" (").Append(Reason.Replace('(', '[').Replace(')', ']').Replace('\\', '/')).Append(')');
            Property(text, "header.d", Domain);
            Property(text, "header.s", Selector);
            Property(text, "header.a", Algorithm);
            Property(text, "header.b", ShortSignature);
            return text.ToString();
        }
    }

    private static void Property(StringBuilder text, string name, string? value)
    {
        if (string.IsNullOrEmpty(value))
            return;
        text.Append(' ').Append(name).Append('=');
        if (value.AsSpan().IndexOfAny(Special) >= 0)
            text.Append('"').Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
        else
            text.Append(value);
    }
}
