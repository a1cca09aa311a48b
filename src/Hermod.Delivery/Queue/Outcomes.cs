using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;

namespace Hermod.Delivery.Queue;

/// <summary>Turns upstream replies into recipient outcomes: state, next attempt and the DSN owed (RFC 3461 NOTIFY).</summary>
public static class Outcomes
{
    public static RecipientOutcome For(QueuedRecipient recipient, UpstreamReply reply, StoredMessage message, bool dsnSupported,
        DeliveryOptions options, DateTimeOffset now, double jitter)
    {
        var hasSender = message.Envelope.Sender.Length > 0; // never a DSN to the null sender: no loops
        var notify = recipient.Notify;
        bool Wants(DsnNotify flag) => hasSender && notify != DsnNotify.Never && (notify == DsnNotify.Default ? flag != DsnNotify.Success : (notify & flag) != 0);

        if (reply.Reply.Code is >= 200 and < 300)
            return new RecipientOutcome(recipient.DeliveryId, AttemptStatus.Delivered, reply, null,
                Wants(DsnNotify.Success) && !dsnSupported ? DsnKind.Relayed : DsnKind.None);

        var attempts = recipient.Attempts + 1; // this one included
        var lastAttempt = options.MaxAttempts > 0 && attempts >= options.MaxAttempts;
        var permanent = reply.Reply.IsPermanent;
        var next = permanent || lastAttempt ? null : RetrySchedule.Next(options.Retry, attempts, now, message.Created, jitter);
        if (next is null)
        {
            var final = permanent ? reply
                : lastAttempt ? reply with { Reply = reply.Reply with { Text = $"{reply.Reply.Text} (gave up after {attempts} attempts)" } }
                : reply with { Reply = reply.Reply with { Text = $"{reply.Reply.Text} (gave up: the message is older than {options.Retry.MaxAge})" } };
            return new RecipientOutcome(recipient.DeliveryId, AttemptStatus.Failed, final, null, Wants(DsnNotify.Failure) ? DsnKind.Failure : DsnKind.None);
        }
        var warn = !recipient.DelayWarned && now - message.Created >= options.DelayWarning && Wants(DsnNotify.Delay);
        return new RecipientOutcome(recipient.DeliveryId, AttemptStatus.Deferred, reply, next, warn ? DsnKind.Delay : DsnKind.None);
    }
}
