using System.Net;
using System.Net.Sockets;
using Hermod.Dns;

namespace Hermod.Policy.Checks;

/// <summary>Options of <see cref="FcrdnsCheck"/>.</summary>
public sealed record FcrdnsOptions
{
    /// <summary>The authserv-id of the Authentication-Results field (iprev, RFC 8601 section 2.7.3): this host's name.</summary>
    public string AuthservId { get; init; } = "";

    /// <summary>Refuse a client without forward-confirmed reverse DNS with 550 5.7.25.</summary>
    public bool RejectOnFail { get; init; } = true;

    /// <summary>Refuse with 451 4.7.25 when DNS failed; else accept and annotate.</summary>
    public bool TempFailOnDnsError { get; init; } = true;

    /// <summary>Most PTR names resolved forward.</summary>
    public int MaxNames { get; init; } = 10;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(AuthservId) || AuthservId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == ';'))
            problems.Add("authserv_id: must be a host name (no spaces or ';')");
        if (MaxNames is < 1 or > 10)
            problems.Add("max_names: must be between 1 and 10");
        return problems;
    }
}

/// <summary>
/// CONNECTION: forward-confirmed reverse DNS (iprev). The client's PTR names (at most <see cref="FcrdnsOptions.MaxNames"/>)
/// are resolved forward; one must lead back to the client's address. Annotates Authentication-Results "iprev=...".
/// </summary>
public sealed class FcrdnsCheck : ICheck
{
    private readonly IDnsResolver _dns;
    private readonly FcrdnsOptions _options;

    public FcrdnsCheck(IDnsResolver dns, FcrdnsOptions options)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        _dns = dns;
        _options = options;
    }

    public string Name => "fcrdns";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Connection;

    /// <summary>The iprev result ("pass", "fail", "permerror", "temperror") and the confirmed name.</summary>
    public async Task<(string Result, string? Name)> EvaluateAsync(IPAddress ip, CancellationToken cancellationToken)
    {
        var ptr = await _dns.ResolvePtrAsync(ip, cancellationToken);
        if (ptr.Status.IsFailure())
            return ("temperror", null);
        if (ptr.Records.Count == 0)
            return ("permerror", null); // no PTR data published (RFC 8601 section 2.7.3)
        var type = ip.AddressFamily == AddressFamily.InterNetworkV6 ? DnsRecordType.AAAA : DnsRecordType.A;
        var names = ptr.Records.Take(_options.MaxNames).Select(n => n.TrimEnd('.')).ToList();
        var forward = await Task.WhenAll(names.Select(n => _dns.QueryAsync(n, type, cancellationToken)));
        var failed = false;
        for (var i = 0; i < names.Count; i++)
        {
            failed |= forward[i].Status.IsFailure();
            if (forward[i].Of<AddressRecord>().Any(r => r.Address.Equals(ip)))
                return ("pass", names[i]);
        }
        return (failed ? "temperror" : "fail", null);
    }

    public async Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var ip = context.ClientAddress.IsIPv4MappedToIPv6 ? context.ClientAddress.MapToIPv4() : context.ClientAddress;
        var (result, name) = await EvaluateAsync(ip, cancellationToken);
        var fragment = $"{_options.AuthservId}; iprev={result} policy.iprev={(ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"\"{ip}\"" : ip.ToString())}" + (name is null ? "" : $" ({CheckOptions.Sanitize(name, 253)})");
        var verdict = result switch
        {
            "pass" => CheckResult.Accept,
            "temperror" when _options.TempFailOnDnsError =>
                CheckResult.TempFail($"Reverse DNS lookup of [{ip}] failed, try again later", 451, new(4, 7, 25)),
            "fail" or "permerror" when _options.RejectOnFail =>
                CheckResult.Reject($"Reverse DNS of [{ip}] does not match its forward DNS", 550, new(5, 7, 25)),
            _ => CheckResult.Accept,
        };
        return verdict with { Headers = [new("Authentication-Results", fragment)] };
    }
}
