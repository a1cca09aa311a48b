using Hermod.Core.Smtp;

namespace Hermod.Core.Storage;

/// <summary>A recipient claimed for an attempt.</summary>
public sealed record QueuedRecipient(long DeliveryId, string Address, DsnNotify Notify, string? OriginalRecipient, int Attempts, bool DelayWarned);

/// <summary>One SMTP transaction's worth of work: the due recipients of one message at one route (destination domain).</summary>
public sealed record DeliveryJob(StoredMessage Message, string Route, IReadOnlyList<QueuedRecipient> Recipients);

/// <summary>
/// What the next hop said, and the host that said it (null when none was reached, or for a local target). A reply
/// with code 0 is no reply at all (connection failure, DNS, a local refusal before sending): its enhanced status
/// code and text say why.
/// </summary>
public sealed record UpstreamReply(string? RemoteHost, SmtpReply Reply)
{
    /// <summary>No reply came: <paramref name="status"/> and <paramref name="text"/> say why (stored with code 0).</summary>
    public static UpstreamReply NoReply(string? remoteHost, EnhancedStatusCode status, string text) => new(remoteHost, new SmtpReply(0, status, text));

    /// <summary>False when no reply came (<see cref="NoReply"/>).</summary>
    public bool Answered => Reply.Code != 0;

    public override string ToString() => Answered ? Reply.ToString() : Reply.Text;
}

/// <summary>Held: nowhere to deliver yet; not retried on a schedule, never expires.</summary>
public enum AttemptStatus { Delivered, Deferred, Failed, Held }

/// <summary>Which delivery status notification a recipient now owes its sender.</summary>
public enum DsnKind { None, Failure, Delay, Relayed }

public sealed record RecipientOutcome(long DeliveryId, AttemptStatus Status, UpstreamReply Reply, DateTimeOffset? NextAttempt = null, DsnKind Dsn = DsnKind.None);

/// <summary>The end of one attempt: every claimed recipient's outcome, recorded in one commit.</summary>
public sealed record AttemptRecord(string MessageId, DateTimeOffset Started, DateTimeOffset Ended, IReadOnlyList<RecipientOutcome> Outcomes);

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
