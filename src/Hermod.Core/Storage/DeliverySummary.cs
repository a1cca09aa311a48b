namespace Hermod.Core.Storage;

/// <summary>One recipient's delivery as stored. <see cref="Node"/>: while it is in flight, who holds its lease (the node's name).</summary>
public sealed record DeliverySummary(
    long Id,
    string Recipient,
    string Route,
    DeliveryState State,
    int Attempts,
    DsnNotify Notify,
    string? OriginalRecipient,
    DateTimeOffset? NextAttempt = null,
    UpstreamReply? LastReply = null,
    DsnKind DsnPending = DsnKind.None,
    string? Node = null);
