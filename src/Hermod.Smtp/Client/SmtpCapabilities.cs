using System.Globalization;
using Hermod.Core.Smtp;

namespace Hermod.Smtp.Client;

/// <summary>What the server announced in its EHLO reply (none of it after a HELO fallback).</summary>
public sealed class SmtpCapabilities
{
    private static readonly HashSet<string> NoMechanisms = [];

    /// <summary>A server that was greeted with HELO: plain RFC 5321, no extensions.</summary>
    public static SmtpCapabilities None { get; } = new([], NoMechanisms, esmtp: false);

    private readonly HashSet<string> _keywords;

    private SmtpCapabilities(IReadOnlyList<string> lines, HashSet<string> authMechanisms, bool esmtp)
    {
        Lines = lines;
        AuthMechanisms = authMechanisms;
        Esmtp = esmtp;
        _keywords = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines)
        {
            var keyword = Keyword(line, out var parameter);
            _keywords.Add(keyword);
            if (keyword == "SIZE")
                MaxSize = long.TryParse(parameter, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
        }
    }

    /// <summary>True when EHLO was accepted.</summary>
    public bool Esmtp { get; }

    /// <summary>The extension lines of the EHLO reply (the first line, the server's name, excluded).</summary>
    public IReadOnlyList<string> Lines { get; }

    public bool Pipelining => Has("PIPELINING");
    public bool Size => Has("SIZE");

    /// <summary>The fixed maximum message size of RFC 1870; null when SIZE is absent, has no value, or is 0 (no limit).</summary>
    public long? MaxSize { get; }

    public bool EightBitMime => Has("8BITMIME");
    public bool SmtpUtf8 => Has("SMTPUTF8");
    public bool Chunking => Has("CHUNKING");
    public bool Dsn => Has("DSN");
    public bool StartTls => Has("STARTTLS");
    public bool EnhancedStatusCodes => Has("ENHANCEDSTATUSCODES");

    /// <summary>SASL mechanisms from "AUTH ..." (and the old "AUTH=..." form), upper case.</summary>
    public IReadOnlySet<string> AuthMechanisms { get; }

    /// <summary>Whether the server announced the EHLO keyword (case-insensitive).</summary>
    public bool Has(string keyword) => _keywords.Contains(keyword);

    /// <summary>Reads the extensions of a positive EHLO reply.</summary>
    public static SmtpCapabilities Parse(SmtpReply ehlo)
    {
        ArgumentNullException.ThrowIfNull(ehlo);
        var all = ehlo.Text.Split('\n');
        var lines = new List<string>(all.Length);
        var mechanisms = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < all.Length; i++)
        {
            var line = all[i].Trim();
            if (line.Length == 0)
                continue; // smtp-sink ends its EHLO reply with an empty "250 " line
            lines.Add(line);
            var keyword = Keyword(line, out var parameter);
            if (keyword == "AUTH" || keyword.StartsWith("AUTH=", StringComparison.Ordinal))
            {
                var list = keyword == "AUTH" ? parameter : line[5..];
                foreach (var mechanism in list.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    mechanisms.Add(mechanism.ToUpperInvariant());
            }
        }
        return new SmtpCapabilities(lines, mechanisms, esmtp: true);
    }

    private static string Keyword(string line, out string parameter)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        parameter = space < 0 ? "" : line[(space + 1)..].Trim();
        return (space < 0 ? line : line[..space]).ToUpperInvariant();
    }

    public override string ToString() => Esmtp ? string.Join(' ', Lines) : "(HELO)";
}
