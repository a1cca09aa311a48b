using System.Net;
using System.Net.Sockets;
using Hermod.Dns;

namespace Hermod.Policy.Spf;

/// <summary>
/// check_host() of RFC 7208: fetches and parses the sender domain's record (<see cref="SpfRecord"/>), evaluates its
/// mechanisms against the client address with the DNS lookup and void lookup limits, follows include and redirect,
/// and expands the exp= explanation of a Fail. DNS failures give TempError, syntax errors and exceeded limits
/// PermError; nothing throws except the caller's cancellation.
/// </summary>
public sealed class SpfEvaluator
{
    private readonly IDnsResolver _dns;
    private readonly SpfOptions _options;

    public SpfEvaluator(IDnsResolver dns, SpfOptions options)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _dns = dns;
        _options = options;
    }

    /// <summary>
    /// Checks the MAIL FROM identity (section 2.4): the domain of <paramref name="mailFrom"/>; an empty reverse-path
    /// checks "postmaster@" the HELO domain instead (identity helo).
    /// </summary>
    public Task<SpfResult> CheckMailFromAsync(IPAddress ip, string mailFrom, string helo, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(mailFrom);
        ArgumentNullException.ThrowIfNull(helo);
        if (mailFrom.Length == 0)
            return CheckHeloAsync(ip, helo, ct);
        var at = mailFrom.LastIndexOf('@');
        return CheckHostAsync(ip, at < 0 ? mailFrom : mailFrom[(at + 1)..], mailFrom, helo, ct);
    }

    /// <summary>Checks the HELO identity (section 2.3): sender "postmaster@" + <paramref name="helo"/>.</summary>
    public async Task<SpfResult> CheckHeloAsync(IPAddress ip, string helo, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(helo);
        var result = await CheckHostAsync(ip, helo, "postmaster@" + helo, helo, ct);
        return result with { Identity = SpfIdentity.Helo };
    }

    /// <summary>check_host(ip, domain, sender) of section 4, with <paramref name="helo"/> for the %{h} macro.</summary>
    public async Task<SpfResult> CheckHostAsync(IPAddress ip, string domain, string sender, string helo, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(ip);
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(helo);
        if (ip.IsIPv4MappedToIPv6)
            ip = ip.MapToIPv4();
        domain = domain.EndsWith('.') ? domain[..^1] : domain;
        // Section 4.3: a sender without local-part is postmaster@domain.
        var at = sender.LastIndexOf('@');
        if (at < 0)
            sender = "postmaster@" + sender;
        else if (at == 0)
            sender = "postmaster" + sender;

        var state = new State(ip, sender, helo, _options.TimeProvider.GetUtcNow());
        SpfResult Result(SpfResultCode code, string? explanation, string? mechanism, string? problem) =>
            new(code, explanation, mechanism, state.Lookups, state.Voids, problem, ip, domain, sender, helo);

        if (!IsValidDomain(domain) || domain.AsSpan().IndexOfAny("[]@ ") >= 0 || IPAddress.TryParse(domain, out _))
            return Result(SpfResultCode.None, null, null, $"'{domain}' is not a valid domain name");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        state.Cancellation = timeout.Token;
        try
        {
            var outcome = await CheckAsync(domain, state, explain: true);
            return Result(outcome.Code, outcome.Explanation, outcome.Mechanism, outcome.Problem);
        }
        catch (SpfAbort abort)
        {
            return Result(abort.Code, null, abort.Mechanism, abort.Message);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Result(SpfResultCode.TempError, null, null, $"SPF evaluation took longer than {_options.Timeout}");
        }
    }

    private sealed class State(IPAddress ip, string sender, string helo, DateTimeOffset now)
    {
        public IPAddress Ip { get; } = ip;
        public string Sender { get; } = sender;
        public string Helo { get; } = helo;
        public DateTimeOffset Now { get; } = now;
        public int Lookups { get; set; }
        public int Voids { get; set; }
        public string? ValidatedDomain { get; set; }
        public CancellationToken Cancellation { get; set; }
        public bool IsV6 => Ip.AddressFamily == AddressFamily.InterNetworkV6;
    }

    private sealed record Outcome(SpfResultCode Code, string? Explanation, string? Mechanism, string? Problem);

    /// <summary>Ends the whole check with TempError or PermError.</summary>
    private sealed class SpfAbort(SpfResultCode code, string message, string? mechanism = null) : Exception(message)
    {
        public SpfResultCode Code { get; } = code;
        public string? Mechanism { get; set; } = mechanism;
    }

    private async Task<Outcome> CheckAsync(string domain, State state, bool explain)
    {
        var record = await FetchRecordAsync(domain, state);
        if (record is null)
            return new Outcome(SpfResultCode.None, null, null, $"no SPF record at {domain}");
        var context = Context(domain, state);
        foreach (var mechanism in record.Mechanisms)
        {
            bool match;
            try
            {
                match = await MatchAsync(mechanism, domain, context, state);
            }
            catch (SpfAbort abort)
            {
                abort.Mechanism = mechanism.Text; // the outermost term wins: the one in the checked domain's record
                throw;
            }
            if (!match)
                continue;
            var code = mechanism.Qualifier switch
            {
                SpfQualifier.Pass => SpfResultCode.Pass,
                SpfQualifier.Fail => SpfResultCode.Fail,
                SpfQualifier.SoftFail => SpfResultCode.SoftFail,
                _ => SpfResultCode.Neutral,
            };
            string? explanation = null;
            if (code == SpfResultCode.Fail && explain && record.Explanation is not null)
                explanation = await ExplainAsync(record.Explanation, context, state);
            return new Outcome(code, explanation, mechanism.Text, null);
        }
        if (record.Redirect is null)
            return new Outcome(SpfResultCode.Neutral, null, "default", null);

        CountLookup(state, "redirect=" + record.Redirect);
        var target = await ExpandDomainAsync(record.Redirect, context, state);
        if (!IsValidDomain(target))
            throw new SpfAbort(SpfResultCode.PermError, $"redirect target '{target}' is not a valid domain name", "redirect=" + record.Redirect);
        var redirected = await CheckAsync(target, state, explain);
        if (redirected.Code == SpfResultCode.None)
            throw new SpfAbort(SpfResultCode.PermError, $"redirect target {target} has no SPF record", "redirect=" + record.Redirect);
        return redirected with { Mechanism = redirected.Mechanism is null ? "redirect=" + record.Redirect : redirected.Mechanism };
    }

    /// <summary>Section 4.4 and 4.5: null for "none"; a DNS failure is TempError, several records or a syntax error PermError.</summary>
    private async Task<SpfRecord?> FetchRecordAsync(string domain, State state)
    {
        var answer = await _dns.ResolveTxtAsync(domain, state.Cancellation);
        if (answer.Status.IsFailure())
            throw new SpfAbort(SpfResultCode.TempError, $"TXT lookup of {domain}: {answer.Status}");
        string? text = null;
        foreach (var txt in answer.Records)
        {
            if (!SpfRecord.IsSpfRecord(txt))
                continue;
            if (text is not null)
                throw new SpfAbort(SpfResultCode.PermError, $"{domain} has more than one SPF record");
            text = txt;
        }
        if (text is null)
            return null;
        if (!SpfRecord.TryParse(text, out var record, out var error))
            throw new SpfAbort(SpfResultCode.PermError, $"SPF record of {domain}: {error}");
        return record;
    }

    private async Task<bool> MatchAsync(SpfMechanism mechanism, string domain, SpfMacroContext context, State state)
    {
        if (mechanism.CostsLookup)
            CountLookup(state, mechanism.Text);
        var target = domain;
        if (mechanism.DomainSpec is not null)
            target = await ExpandDomainAsync(mechanism.DomainSpec, context, state);
        switch (mechanism.Kind)
        {
            case SpfMechanismKind.All:
                return true;
            case SpfMechanismKind.Ip4:
                return !state.IsV6 && InNetwork(state.Ip, mechanism.Network!, mechanism.Ip4Prefix);
            case SpfMechanismKind.Ip6:
                return state.IsV6 && InNetwork(state.Ip, mechanism.Network!, mechanism.Ip6Prefix);
            case SpfMechanismKind.A:
                {
                    var prefix = state.IsV6 ? mechanism.Ip6Prefix : mechanism.Ip4Prefix;
                    foreach (var address in await AddressesAsync(target, state.IsV6, state))
                    {
                        if (InNetwork(state.Ip, address, prefix))
                            return true;
                    }
                    return false;
                }
            case SpfMechanismKind.Mx:
                return await MatchMxAsync(mechanism, target, state);
            case SpfMechanismKind.Ptr:
                {
                    foreach (var name in await ValidatedNamesAsync(state))
                    {
                        if (IsSameOrSubdomain(name, target))
                            return true;
                    }
                    return false;
                }
            case SpfMechanismKind.Exists:
                return (await AddressesAsync(target, v6: false, state)).Count > 0;
            case SpfMechanismKind.Include:
                {
                    if (!IsValidDomain(target))
                        throw new SpfAbort(SpfResultCode.PermError, $"include target '{target}' is not a valid domain name");
                    var included = await CheckAsync(target, state, explain: false);
                    return included.Code switch
                    {
                        SpfResultCode.Pass => true,
                        SpfResultCode.None => throw new SpfAbort(SpfResultCode.PermError, $"included domain {target} has no SPF record"),
                        _ => false,
                    };
                }
            default:
                throw new InvalidOperationException($"unknown mechanism {mechanism.Kind}");
        }
    }

    private async Task<bool> MatchMxAsync(SpfMechanism mechanism, string target, State state)
    {
        var mx = await ResolveAsync(target, DnsRecordType.MX, state);
        var exchanges = mx.Of<MxRecord>().Where(r => !r.IsNullMx).OrderBy(r => r.Preference).ToList();
        if (exchanges.Count > _options.MaxMxNames)
            throw new SpfAbort(SpfResultCode.PermError, $"{target} has more than {_options.MaxMxNames} MX records");
        var prefix = state.IsV6 ? mechanism.Ip6Prefix : mechanism.Ip4Prefix;
        foreach (var exchange in exchanges)
        {
            foreach (var address in await AddressesAsync(exchange.Exchange, state.IsV6, state))
            {
                if (InNetwork(state.Ip, address, prefix))
                    return true;
            }
        }
        return false;
    }

    /// <summary>A or AAAA records of a name; an empty answer is a void lookup, a failure TempError.</summary>
    private async Task<IReadOnlyList<IPAddress>> AddressesAsync(string name, bool v6, State state)
    {
        var answer = await ResolveAsync(name, v6 ? DnsRecordType.AAAA : DnsRecordType.A, state);
        return answer.Of<AddressRecord>().Select(r => r.Address).ToList();
    }

    private async Task<DnsAnswer> ResolveAsync(string name, DnsRecordType type, State state)
    {
        if (!IsValidDomain(name))
        {
            CountVoid(state, name);
            return new DnsAnswer(DnsStatus.NxDomain, [], false);
        }
        var answer = await _dns.QueryAsync(name, type, state.Cancellation);
        if (answer.Status.IsFailure())
            throw new SpfAbort(SpfResultCode.TempError, $"{type} lookup of {name}: {answer.Status}");
        if (answer.Records.Count == 0)
            CountVoid(state, name);
        return answer;
    }

    /// <summary>
    /// Section 5.5: the PTR names of the client address (at most <see cref="SpfOptions.MaxPtrNames"/>) that resolve
    /// back to it. A failed PTR lookup gives no names; a failed address lookup skips that name.
    /// </summary>
    private async Task<IReadOnlyList<string>> ValidatedNamesAsync(State state)
    {
        var ptr = await _dns.QueryAsync(DnsNames.Reverse(state.Ip), DnsRecordType.PTR, state.Cancellation);
        var names = ptr.Of<PtrRecord>().Select(r => r.Target.TrimEnd('.')).Take(_options.MaxPtrNames).ToList();
        if (!ptr.Status.IsFailure() && names.Count == 0)
            CountVoid(state, DnsNames.Reverse(state.Ip));
        var validated = new List<string>();
        foreach (var name in names)
        {
            if (!IsValidDomain(name))
                continue;
            var answer = await _dns.QueryAsync(name, state.IsV6 ? DnsRecordType.AAAA : DnsRecordType.A, state.Cancellation);
            if (answer.Of<AddressRecord>().Any(r => r.Address.Equals(state.Ip)))
                validated.Add(name);
        }
        return validated;
    }

    /// <summary>The %{p} value (section 7.3): a validated name equal to the domain, else a subdomain of it, else any, else "unknown".</summary>
    private async Task<string> ValidatedDomainAsync(string domain, State state)
    {
        var names = await ValidatedNamesAsync(state);
        return names.FirstOrDefault(n => n.Equals(domain, StringComparison.OrdinalIgnoreCase))
            ?? names.FirstOrDefault(n => IsSameOrSubdomain(n, domain))
            ?? (names.Count > 0 ? names[0] : null)
            ?? "unknown";
    }

    private async Task<string> ExpandDomainAsync(string spec, SpfMacroContext context, State state)
    {
        await FillValidatedDomainAsync(spec, context, state);
        if (!SpfMacro.TryExpandDomain(spec, context, out var domain, out var error))
            throw new SpfAbort(SpfResultCode.PermError, $"macro error in '{spec}': {error}");
        return domain;
    }

    private async Task FillValidatedDomainAsync(string text, SpfMacroContext context, State state)
    {
        if (!SpfMacro.Uses(text, 'p'))
            return;
        state.ValidatedDomain ??= await ValidatedDomainAsync(context.Domain, state);
        context.ValidatedDomain = state.ValidatedDomain;
    }

    /// <summary>Section 6.2: any problem (macro, DNS, not exactly one TXT, bad explain-string) means no explanation.</summary>
    private async Task<string?> ExplainAsync(string spec, SpfMacroContext context, State state)
    {
        try
        {
            await FillValidatedDomainAsync(spec, context, state);
            if (!SpfMacro.TryExpandDomain(spec, context, out var domain, out _) || !IsValidDomain(domain))
                return null;
            var answer = await _dns.ResolveTxtAsync(domain, state.Cancellation);
            if (answer.Status != DnsStatus.Ok || answer.Records.Count != 1)
                return null;
            var text = answer.Records[0];
            await FillValidatedDomainAsync(text, context, state);
            return SpfMacro.TryExpand(text, context, explanation: true, out var explanation, out _) ? explanation : null;
        }
        catch (SpfAbort)
        {
            return null;
        }
    }

    private SpfMacroContext Context(string domain, State state) => new()
    {
        Sender = state.Sender,
        Domain = domain,
        Ip = state.Ip,
        Helo = state.Helo,
        ReceiverDomain = _options.ReceiverDomain,
        Now = state.Now,
        ValidatedDomain = state.ValidatedDomain ?? "unknown",
    };

    private void CountLookup(State state, string term)
    {
        if (++state.Lookups > _options.MaxDnsLookups)
            throw new SpfAbort(SpfResultCode.PermError, $"more than {_options.MaxDnsLookups} DNS lookups", term);
    }

    private void CountVoid(State state, string name)
    {
        if (++state.Voids > _options.MaxVoidLookups)
            throw new SpfAbort(SpfResultCode.PermError, $"more than {_options.MaxVoidLookups} void lookups (last: {name})");
    }

    private static bool InNetwork(IPAddress ip, IPAddress network, int prefix)
    {
        if (ip.AddressFamily != network.AddressFamily)
            return false;
        var a = ip.GetAddressBytes();
        var b = network.GetAddressBytes();
        var full = prefix / 8;
        for (var i = 0; i < full; i++)
        {
            if (a[i] != b[i])
                return false;
        }
        var bits = prefix % 8;
        if (bits == 0)
            return true;
        var mask = (byte)(0xFF << (8 - bits));
        return (a[full] & mask) == (b[full] & mask);
    }

    private static bool IsSameOrSubdomain(string name, string domain)
    {
        name = name.TrimEnd('.');
        domain = domain.TrimEnd('.');
        return name.Equals(domain, StringComparison.OrdinalIgnoreCase)
            || (name.Length > domain.Length && name.EndsWith(domain, StringComparison.OrdinalIgnoreCase)
                && name[name.Length - domain.Length - 1] == '.');
    }

    /// <summary>A name that can be queried (section 4.3): at least two labels, none empty or longer than 63, at most 253 characters.</summary>
    internal static bool IsValidDomain(string domain)
    {
        if (domain.EndsWith('.'))
            domain = domain[..^1];
        if (domain.Length is 0 or > 253 || !domain.Contains('.', StringComparison.Ordinal))
            return false;
        foreach (var label in domain.Split('.'))
        {
            if (label.Length is 0 or > 63)
                return false;
        }
        return true;
    }
}
