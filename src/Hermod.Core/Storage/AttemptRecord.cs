namespace Hermod.Core.Storage;

/// <summary>The end of one attempt: every claimed recipient's outcome, recorded in one commit.</summary>
public sealed record AttemptRecord(string MessageId, DateTimeOffset Started, DateTimeOffset Ended, IReadOnlyList<RecipientOutcome> Outcomes);
