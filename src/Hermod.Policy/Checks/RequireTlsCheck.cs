namespace Hermod.Policy.Checks;

/// <summary>Options of <see cref="RequireTlsCheck"/>.</summary>
public sealed record RequireTlsOptions
{
    /// <summary>Client addresses (exact, e.g. "127.0.0.1") allowed to send without TLS.</summary>
    public IReadOnlyList<string> Exempt { get; init; } = [];

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach (var address in Exempt)
            if (!System.Net.IPAddress.TryParse(address, out _))
                problems.Add($"exempt: '{address}' is not an IP address");
        return problems;
    }
}

/// <summary>MAIL: refuses a transaction on a session without TLS with 530 5.7.0.</summary>
public sealed class RequireTlsCheck : ICheck
{
    public static readonly CheckResult Refusal = CheckResult.Reject("Must issue a STARTTLS command first", 530, new(5, 7, 0));

    private readonly HashSet<System.Net.IPAddress> _exempt;

    public RequireTlsCheck(RequireTlsOptions? options = null)
    {
        options ??= new RequireTlsOptions();
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        _exempt = [.. options.Exempt.Select(System.Net.IPAddress.Parse)];
    }

    public string Name => "require_tls";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Mail;

    public Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var address = context.ClientAddress.IsIPv4MappedToIPv6 ? context.ClientAddress.MapToIPv4() : context.ClientAddress;
        return Task.FromResult(context.Tls || _exempt.Contains(address) ? CheckResult.Accept : Refusal);
    }
}
