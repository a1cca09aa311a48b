namespace Hermod.Core.Storage;

/// <summary>One SMTP transaction's worth of work: the due recipients of one message at one route (destination domain).</summary>
public sealed record DeliveryJob(StoredMessage Message, string Route, IReadOnlyList<QueuedRecipient> Recipients);
