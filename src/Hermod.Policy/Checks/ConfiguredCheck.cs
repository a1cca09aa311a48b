namespace Hermod.Policy.Checks;

/// <summary>
/// A check with its per-task timeout and what a timeout means (by default a temporary failure). The reply does not name
/// the check; the log does.
/// </summary>
public sealed record ConfiguredCheck(ICheck Check, TimeSpan Timeout, CheckResult? OnTimeout = null)
{
    public CheckResult TimeoutResult => OnTimeout ?? CheckResult.TempFail("A policy check did not finish in time, try again later", 451, new(4, 4, 3));
}
