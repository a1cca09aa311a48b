namespace Hermod.Core.Storage;

/// <summary>A stored message with its recipients' states.</summary>
public sealed record StoredMessage(
    MessageEnvelope Envelope,
    long Size,
    DateTimeOffset Created,
    IReadOnlyList<DeliverySummary> Deliveries);
