namespace Hermod.Core.Storage;

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
    DsnKind DsnPending = DsnKind.None);
