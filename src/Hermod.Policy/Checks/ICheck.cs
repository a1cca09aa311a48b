namespace Hermod.Policy.Checks;

/// <summary>A check: built from configuration by name, run concurrently with the other checks of its stage.</summary>
public interface ICheck
{
    string Name { get; }

    bool RunsAt(CheckStage stage);

    /// <summary>Must honour <paramref name="cancellationToken"/>: it is cancelled when another check already refused.</summary>
    Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken);
}
