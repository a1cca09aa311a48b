namespace Hermod.Core.Storage;

/// <summary>
/// The attempt made while the client waited (cut-through): <see cref="RecipientOutcome.DeliveryId"/> is the index of the
/// recipient in the envelope (the delivery has no id yet); recipients without an outcome are queued. Outcomes are
/// answers (delivered, deferred, failed), never <see cref="AttemptStatus.Held"/>: a held route is not cut through.
/// </summary>
public sealed record CutThroughAttempt(DateTimeOffset Started, DateTimeOffset Ended, IReadOnlyList<RecipientOutcome> Outcomes)
{
    public bool DeliveredAll(int recipients) => Outcomes.Count == recipients && Outcomes.All(o => o.Status == AttemptStatus.Delivered);
}
