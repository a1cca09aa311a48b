using Hermod.Dns;
using Hermod.Policy.Spf;

namespace Hermod.Policy.Checks;

/// <summary>Options of <see cref="SpfCheck"/>.</summary>
public sealed record SpfCheckOptions
{
    /// <summary>The authserv-id of the Authentication-Results field: this host's name.</summary>
    public string AuthservId { get; init; } = "";

    /// <summary>Refuse "fail" with 550 5.7.23 (the domain's explanation as text).</summary>
    public bool RejectOnFail { get; init; } = true;

    /// <summary>Refuse "temperror" with 451 4.7.24; else accept and annotate.</summary>
    public bool TempFailOnTempError { get; init; } = true;

    /// <summary>Refuse "permerror" (a broken record) with 550 5.7.24; else accept and annotate.</summary>
    public bool RejectOnPermError { get; init; }

    /// <summary>Also add a Received-SPF field (RFC 7208 section 9.1).</summary>
    public bool AddReceivedSpf { get; init; }

    /// <summary>Evaluator limits; its ReceiverDomain defaults to <see cref="AuthservId"/>.</summary>
    public SpfOptions? Spf { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(AuthservId) || AuthservId.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == ';'))
            problems.Add("authserv_id: must be a host name (no spaces or ';')");
        return problems;
    }
}

/// <summary>
/// MAIL: SPF of the envelope sender (the HELO name for a null sender). fail → 550 5.7.23, temperror → 451 4.7.24,
/// permerror → 550 5.7.24 when configured; softfail, neutral and none pass. Always annotates Authentication-Results.
/// </summary>
public sealed class SpfCheck : ICheck
{
    private readonly SpfEvaluator _evaluator;
    private readonly SpfCheckOptions _options;

    public SpfCheck(IDnsResolver dns, SpfCheckOptions options)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        _options = options;
        var spf = options.Spf ?? new SpfOptions { ReceiverDomain = options.AuthservId };
        _evaluator = new SpfEvaluator(dns, spf);
    }

    public string Name => "spf";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Mail;

    public async Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var result = await _evaluator.CheckMailFromAsync(context.ClientAddress, context.Sender ?? "", context.Helo, cancellationToken);
        List<KeyValuePair<string, string>> headers = [new("Authentication-Results", $"{_options.AuthservId}; {result.AuthenticationResultsFragment()}")];
        if (_options.AddReceivedSpf)
            headers.Add(new("Received-SPF", result.ReceivedSpf(_options.AuthservId)));
        var verdict = result.Result switch
        {
            SpfResultCode.Fail when _options.RejectOnFail => CheckResult.Reject(FailText(result), 550, new(5, 7, 23)),
            SpfResultCode.TempError when _options.TempFailOnTempError =>
                CheckResult.TempFail("SPF check failed temporarily, try again later", 451, new(4, 7, 24)),
            SpfResultCode.PermError when _options.RejectOnPermError =>
                CheckResult.Reject($"SPF record of {result.Domain} is invalid", 550, new(5, 7, 24)),
            _ => CheckResult.Accept,
        };
        return verdict with { Headers = headers };
    }

    private static string FailText(SpfResult result)
    {
        var explanation = result.Explanation is null ? "" : CheckOptions.Sanitize(result.Explanation);
        return explanation.Length > 0
            ? explanation
            : $"SPF: {CheckOptions.Sanitize(result.Domain, 100)} does not designate {result.Ip} as permitted sender";
    }
}
