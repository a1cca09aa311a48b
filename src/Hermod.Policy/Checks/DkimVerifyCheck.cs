using Hermod.Dns;
using Hermod.Policy.Dkim;
using Hermod.Policy.Headers;

namespace Hermod.Policy.Checks;

/// <summary>Options of <see cref="DkimVerifyCheck"/>.</summary>
public sealed record DkimVerifyOptions
{
    /// <summary>The authserv-id of the Authentication-Results field: this host's name.</summary>
    public string AuthservId { get; init; } = "";

    /// <summary>
    /// Domains that always sign: a message whose envelope sender or From header is at one of them needs a passing
    /// signature with d= that domain (or a parent of it); else 550 5.7.20. Empty (the default): annotate only.
    /// </summary>
    public IReadOnlyList<string> Required { get; init; } = [];

    /// <summary>When a required signature could not be checked (temperror): 451 4.7.20 instead of 550 5.7.20.</summary>
    public bool TempFailOnTempError { get; init; } = true;

    /// <summary>Most bytes of the header block read to find the From field.</summary>
    public int MaxHeaderBytes { get; init; } = 256 * 1024;

    /// <summary>Verifier limits.</summary>
    public DkimVerifierOptions? Verifier { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(AuthservId) || AuthservId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == ';'))
            problems.Add("authserv_id: must be a host name (no spaces or ';')");
        if (Required.Any(d => string.IsNullOrWhiteSpace(d) || d.Contains('@')))
            problems.Add("required: entries must be domain names");
        if (MaxHeaderBytes < 1024)
            problems.Add("max_header_bytes: must be at least 1024");
        return problems;
    }
}

/// <summary>
/// BODY: verifies the DKIM signatures of the message and adds one Authentication-Results field per signature
/// ("dkim=none" when unsigned). Refuses only for the configured required domains.
/// </summary>
public sealed class DkimVerifyCheck : ICheck
{
    private readonly DkimVerifier _verifier;
    private readonly DkimVerifyOptions _options;
    private readonly HashSet<string> _required;

    public DkimVerifyCheck(IDnsResolver dns, DkimVerifyOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        _options = options;
        _verifier = new DkimVerifier(dns, options.Verifier, time);
        _required = new HashSet<string>(options.Required.Select(d => d.Trim().TrimEnd('.')), StringComparer.OrdinalIgnoreCase);
    }

    public string Name => "dkim";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Body;

    public async Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.OpenBody is null)
            return CheckResult.Accept;
        IReadOnlyList<DkimResult> results;
        var body = await context.OpenBody(cancellationToken);
        await using (body)
            results = await _verifier.VerifyAsync(body, cancellationToken);
        var headers = results.Count == 0
            ? [new("Authentication-Results", $"{_options.AuthservId}; {DkimResult.None}")]
            : results.Select(r => new KeyValuePair<string, string>("Authentication-Results", $"{_options.AuthservId}; {r.AuthenticationResults}")).ToList();
        if (_required.Count == 0)
            return new CheckResult(CheckAction.Accept, Headers: headers);

        var claimed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (CheckOptions.DomainOf(context.Sender ?? "") is { Length: > 0 } envelope)
            claimed.Add(envelope);
        body = await context.OpenBody(cancellationToken);
        await using (body)
        {
            var fields = await HeaderReader.ReadAsync(body, _options.MaxHeaderBytes, cancellationToken);
            foreach (var field in fields ?? [])
                if (field.Key.Equals("From", StringComparison.OrdinalIgnoreCase))
                    foreach (var address in HeaderReader.Addresses(field.Value))
                        claimed.Add(CheckOptions.DomainOf(address));
        }
        foreach (var domain in claimed)
        {
            if (!_required.Contains(domain.TrimEnd('.')))
                continue;
            var covering = results.Where(r => r.Domain is { } d && Covers(d, domain)).ToList();
            if (covering.Any(r => r.Status == DkimStatus.Pass))
                continue;
            var verdict = _options.TempFailOnTempError && covering.Any(r => r.Status == DkimStatus.TempError)
                ? CheckResult.TempFail($"Could not verify the DKIM signature of {domain}, try again later", 451, new(4, 7, 20))
                : CheckResult.Reject($"No passing DKIM signature found for {domain}", 550, new(5, 7, 20));
            return verdict with { Headers = headers };
        }
        return new CheckResult(CheckAction.Accept, Headers: headers);
    }

    /// <summary>Whether a signature by <paramref name="signer"/> vouches for <paramref name="domain"/> (the same domain or a parent).</summary>
    private static bool Covers(string signer, string domain)
    {
        signer = signer.TrimEnd('.');
        domain = domain.TrimEnd('.');
        return signer.Contains('.')
            && (domain.Equals(signer, StringComparison.OrdinalIgnoreCase) || domain.EndsWith("." + signer, StringComparison.OrdinalIgnoreCase));
    }
}
