namespace Hermod.Core.Storage;

/// <summary>
/// The queue side of storage: due work is claimed under a lease (a crash makes it due again when the lease
/// expires), attempts are recorded durably, and owed DSNs are handed out and cleared when the DSN is queued.
/// </summary>
public interface IDeliveryQueue
{
    /// <summary>Set whenever work may have become due (a message accepted, a retry requested).</summary>
    QueueSignal Signal { get; }

    /// <summary>Set when a message was accepted owing a DSN already (a cut-through refusal among deliveries).</summary>
    QueueSignal DsnOwed { get; }

    Task<IReadOnlyList<DeliveryJob>> ClaimAsync(int maxJobs, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>When the earliest waiting delivery becomes due; null when nothing waits.</summary>
    Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken);

    /// <summary>Durable before it returns: a recipient that got a 250 is marked delivered in this commit.</summary>
    Task RecordAsync(AttemptRecord attempt, CancellationToken cancellationToken);

    /// <summary>Makes queued and deferred deliveries due now (one message, or all when null); returns how many.</summary>
    Task<int> RetryNowAsync(string? messageId, CancellationToken cancellationToken);

    /// <summary>Releases the message's quarantined deliveries onto the route they had before (due now); returns how many.</summary>
    Task<int> ReleaseAsync(string messageId, CancellationToken cancellationToken);

    /// <summary>Cancels the message's deliveries that are not final or in flight; returns how many.</summary>
    Task<int> CancelAsync(string messageId, CancellationToken cancellationToken);

    /// <summary>Messages that owe their sender a DSN, with no delivery in flight.</summary>
    Task<IReadOnlyList<StoredMessage>> PendingDsnAsync(int max, CancellationToken cancellationToken);

    /// <summary>Queues <paramref name="dsn"/> and clears the owed DSN of <paramref name="deliveryIds"/> in one commit.</summary>
    Task AcceptDsnAsync(MessageEnvelope dsn, string headerPrefix, IBlobWriter body, IReadOnlyList<long> deliveryIds, CancellationToken cancellationToken);
}
