using System.Net;

namespace Hermod.Policy.Pipeline;

/// <summary>What checks see of a session and its transaction.</summary>
public sealed class CheckContext
{
    public required string Listener { get; init; }
    public required IPAddress ClientAddress { get; init; }
    public string Helo { get; init; } = "";
    public string? AuthUser { get; init; }
    public bool Tls { get; init; }
    public string? Sender { get; init; }
    /// <summary>At the RCPT stage: the recipient being checked.</summary>
    public string? Recipient { get; init; }
    public IReadOnlyList<string> Recipients { get; init; } = [];
    /// <summary>At the BODY stage: opens the stored message for reading (each call a new stream).</summary>
    public Func<CancellationToken, Task<Stream>>? OpenBody { get; init; }
}

/// <summary>A check: built from configuration by name, run concurrently with the other checks of its stage.</summary>
public interface ICheck
{
    string Name { get; }

    bool RunsAt(CheckStage stage);

    /// <summary>Must honour <paramref name="cancellationToken"/>: it is cancelled when another check already refused.</summary>
    Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken);
}

/// <summary>A check with its per-task timeout and what a timeout means (by default a temporary failure).</summary>
public sealed record ConfiguredCheck(ICheck Check, TimeSpan Timeout, CheckResult? OnTimeout = null)
{
    public CheckResult TimeoutResult => OnTimeout ?? CheckResult.TempFail($"check {Check.Name} timed out, try again later", 451, new(4, 4, 3));
}
