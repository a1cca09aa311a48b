namespace Hermod.Policy.Checks;

/// <summary>Options of <see cref="RequireAuthCheck"/>.</summary>
public sealed record RequireAuthOptions
{
    /// <summary>The reply text of the refusal.</summary>
    public string Text { get; init; } = "Authentication required";

    public IReadOnlyList<string> Validate() =>
        string.IsNullOrWhiteSpace(Text) || Text.Any(char.IsControl) ? ["text: must be non-empty text without control characters"] : [];
}

/// <summary>MAIL: refuses a transaction of an unauthenticated session with 530 5.7.0.</summary>
public sealed class RequireAuthCheck : ICheck
{
    private readonly CheckResult _refusal;

    public RequireAuthCheck(RequireAuthOptions? options = null)
    {
        options ??= new RequireAuthOptions();
        CheckOptions.ThrowIfInvalid(Name, options.Validate());
        _refusal = CheckResult.Reject(options.Text, 530, new(5, 7, 0));
    }

    public string Name => "require_auth";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Mail;

    public Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Task.FromResult(context.AuthUser is null ? _refusal : CheckResult.Accept);
    }
}
