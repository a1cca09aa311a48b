namespace Hermod.Core.Storage;

/// <summary>The state of a Mini-MailGun submission as its client sees it.</summary>
public enum SubmissionStatus
{
    /// <summary>Still on its way, or its recipients ended in different states.</summary>
    Queued,

    /// <summary>Every recipient of every envelope was delivered.</summary>
    Sent,

    /// <summary>Every recipient of every envelope failed or was cancelled.</summary>
    Undeliverable,
}

/// <summary>
/// Submissions of the Mini-MailGun API: one request that becomes one message (envelope) per destination domain,
/// all sharing one body.
/// </summary>
public interface ISubmissionStore
{
    /// <summary>
    /// Makes the submission, every envelope in <paramref name="envelopes"/> (each with
    /// <see cref="MessageEnvelope.SubmissionId"/> = <paramref name="submissionId"/>) with one delivery per recipient,
    /// and the shared body durable in one commit: when this returns, all of it is; when it throws, none of it is.
    /// </summary>
    Task AcceptSubmissionAsync(string submissionId, string clientId, IReadOnlyList<MessageEnvelope> envelopes, string headerPrefix,
        IBlobWriter body, CancellationToken cancellationToken, ReplacedHeader? header = null);

    /// <summary>
    /// The common state of every recipient of the submission (delivered → <see cref="SubmissionStatus.Sent"/>; failed or
    /// cancelled → <see cref="SubmissionStatus.Undeliverable"/>), otherwise <see cref="SubmissionStatus.Queued"/>;
    /// null when the id is unknown, belongs to another client, or was removed by retention.
    /// </summary>
    Task<SubmissionStatus?> GetSubmissionStatusAsync(string submissionId, string clientId, CancellationToken cancellationToken);
}
