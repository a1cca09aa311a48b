using System.Net;
using System.Text;

namespace Hermod.Policy.Spf;

/// <summary>The results of check_host() (RFC 7208 section 2.6).</summary>
public enum SpfResultCode
{
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

/// <summary>Which identity was checked (RFC 7208 section 2.3 and 2.4).</summary>
public enum SpfIdentity
{
    MailFrom,
    Helo,
}

/// <summary>
/// The outcome of one SPF check. <see cref="Explanation"/> is the macro-expanded text of the record's <c>exp=</c>
/// (only for <see cref="SpfResultCode.Fail"/>, null when the record has none or it could not be used);
/// <see cref="Mechanism"/> is the top-level term that decided (as written, "-all", "include:example.org"), or
/// "default" when none matched; <see cref="DnsLookups"/> counts the terms that cost a DNS lookup (section 4.6.4);
/// <see cref="Problem"/> says why for TempError and PermError (for the log, not for the client).
/// </summary>
public sealed record SpfResult(
    SpfResultCode Result,
    string? Explanation,
    string? Mechanism,
    int DnsLookups,
    int VoidLookups,
    string? Problem,
    IPAddress Ip,
    string Domain,
    string Sender,
    string Helo,
    SpfIdentity Identity = SpfIdentity.MailFrom)
{
    /// <summary>The result keyword as headers write it: "pass", "softfail", "temperror", ...</summary>
    public string Keyword => Keywords[(int)Result];

    private static readonly string[] Keywords = ["none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"];

    /// <summary>The Authentication-Results method fragment (RFC 8601 section 2.7.2): "spf=pass smtp.mailfrom=example.org".</summary>
    public string AuthenticationResultsFragment() =>
        Identity == SpfIdentity.Helo
            ? $"spf={Keyword} smtp.helo={Helo}"
            : $"spf={Keyword} smtp.mailfrom={Domain}";

    /// <summary>
    /// The value of a Received-SPF header field (RFC 7208 section 9.1), without the field name:
    /// "pass (mx.example.net: domain of a@example.org designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=...".
    /// </summary>
    public string ReceivedSpf(string receiver)
    {
        var comment = Result switch
        {
            SpfResultCode.Pass => $"domain of {Sender} designates {Ip} as permitted sender",
            SpfResultCode.Fail => $"domain of {Sender} does not designate {Ip} as permitted sender",
            SpfResultCode.SoftFail => $"domain of transitioning {Sender} does not designate {Ip} as permitted sender",
            SpfResultCode.Neutral => $"{Ip} is neither permitted nor denied by domain of {Sender}",
            SpfResultCode.None => $"domain of {Sender} does not provide an SPF record",
            SpfResultCode.TempError => $"error in processing during lookup of {Sender}: DNS failure",
            _ => $"error in processing SPF record of {Sender}",
        };
        var sb = new StringBuilder();
        sb.Append(Keyword).Append(" (").Append(receiver).Append(": ").Append(comment).Append(") ");
        sb.Append("client-ip=").Append(Ip).Append("; ");
        sb.Append("envelope-from=\"").Append(Sender.Replace("\\", "\\\\").Replace("\"", "\\\"")).Append("\"; ");
        sb.Append("helo=").Append(Helo.Length == 0 ? "unknown" : Helo).Append("; ");
        sb.Append("receiver=").Append(receiver).Append("; ");
        sb.Append("identity=").Append(Identity == SpfIdentity.Helo ? "helo" : "mailfrom").Append(';');
        return sb.ToString();
    }
}
