using System.Net;
using System.Net.Sockets;
using Hermod.Dns;

namespace Hermod.Policy.Checks;

/// <summary>Options of <see cref="DnsblCheck"/>.</summary>
public sealed record DnsblOptions
{
    /// <summary>DNS blocklist zones ("zen.spamhaus.org"), queried concurrently; the first listed one in this order is reported.</summary>
    public IReadOnlyList<string> Zones { get; init; } = [];

    /// <summary>Accept when a lookup fails (the default); else refuse with 451 4.7.1.</summary>
    public bool FailOpen { get; init; } = true;

    /// <summary>Look up the zone's TXT record for the reason shown to the client.</summary>
    public bool FetchReason { get; init; } = true;

    /// <summary>Query IPv6 clients too (nibble format). Off for zones that list IPv4 only.</summary>
    public bool Ipv6 { get; init; } = true;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Zones.Count == 0)
            problems.Add("zones: must not be empty");
        foreach (var zone in Zones)
            if (string.IsNullOrWhiteSpace(zone) || zone.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || zone.StartsWith('.'))
                problems.Add($"zones: '{zone}' is not a domain name");
        if (Zones.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Zones.Count)
            problems.Add("zones: must not repeat a zone");
        return problems;
    }
}

/// <summary>
/// CONNECTION: refuses clients listed in a DNS blocklist (an A answer in 127.0.0.0/8 other than 127.255.255.0/24, which
/// blocklists use for errors) with 554 5.7.1 "Client host [ip] blocked using zone".
/// </summary>
public sealed class DnsblCheck : ICheck
{
    private readonly IDnsResolver _dns;
    private readonly DnsblOptions _options;

    public DnsblCheck(IDnsResolver dns, DnsblOptions options)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        _dns = dns;
        _options = options with { Zones = [.. options.Zones.Select(z => z.Trim().TrimEnd('.'))] };
    }

    public string Name => "dnsbl";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Connection;

    public static readonly CheckResult LookupFailed = CheckResult.TempFail("Blocklist lookup failed, try again later", 451, new(4, 7, 1));

    public async Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var ip = context.ClientAddress.IsIPv4MappedToIPv6 ? context.ClientAddress.MapToIPv4() : context.ClientAddress;
        if (ip.AddressFamily == AddressFamily.InterNetworkV6 && !_options.Ipv6)
            return CheckResult.Accept;
        var lookups = _options.Zones.Select(zone => LookupAsync(ip, zone, cancellationToken)).ToList();
        var answers = await Task.WhenAll(lookups);
        var failed = false;
        for (var i = 0; i < answers.Length; i++)
        {
            var (listed, failure) = answers[i];
            failed |= failure;
            if (!listed)
                continue;
            var zone = _options.Zones[i];
            var text = $"Client host [{ip}] blocked using {zone}";
            if (_options.FetchReason)
            {
                var txt = await _dns.ResolveTxtAsync(DnsNames.Reverse(ip, zone), cancellationToken);
                if (txt.Status == DnsStatus.Ok && txt.Records.Count > 0 && CheckOptions.Sanitize(txt.Records[0]) is { Length: > 0 } reason)
                    text += "; " + reason;
            }
            return CheckResult.Reject(text, 554, new(5, 7, 1));
        }
        return failed && !_options.FailOpen ? LookupFailed : CheckResult.Accept;
    }

    private async Task<(bool Listed, bool Failed)> LookupAsync(IPAddress ip, string zone, CancellationToken cancellationToken)
    {
        var answer = await _dns.QueryAsync(DnsNames.Reverse(ip, zone), DnsRecordType.A, cancellationToken);
        if (answer.Status.IsFailure())
            return (false, true);
        foreach (var record in answer.Of<AddressRecord>())
            if (IsListing(record.Address))
                return (true, false);
        return (false, false);
    }

    /// <summary>127.0.0.0/8 except 127.255.255.0/24 (Spamhaus-style "query refused" codes).</summary>
    private static bool IsListing(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
            return false;
        var b = address.GetAddressBytes();
        return b[0] == 127 && !(b[1] == 255 && b[2] == 255);
    }
}
