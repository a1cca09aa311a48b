namespace Hermod.Core.Storage;

/// <summary>What one retention pass removed.</summary>
public sealed record RetentionResult(int Messages, int Blobs, int Submissions)
{
    public static readonly RetentionResult None = new(0, 0, 0);

    public RetentionResult Add(RetentionResult other) => new(Messages + other.Messages, Blobs + other.Blobs, Submissions + other.Submissions);
}

/// <summary>Deletes what no longer needs keeping.</summary>
public interface IRetentionStore
{
    /// <summary>
    /// Deletes up to <paramref name="maxMessages"/> messages that finished (every recipient delivered, failed or
    /// cancelled, no DSN still owed) more than <paramref name="retention"/> ago, with their deliveries, attempts and
    /// events; a blob goes with the last message that refers to it, a submission with its last message. The messages
    /// of one submission go together, once the last of them is past retention. One commit per call.
    /// </summary>
    Task<RetentionResult> DeleteFinishedAsync(TimeSpan retention, int maxMessages, CancellationToken cancellationToken);
}
