using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Microsoft.Extensions.Logging;

namespace Hermod.Delivery.Bounces;

/// <summary>
/// Sends the DSNs that recipients owe their senders: one per message covering every recipient that owes one,
/// from the null sender, queued through the same path as any mail. Queuing the DSN and clearing what was owed
/// happen in one commit, so a crash neither loses nor repeats a DSN. In a cluster one node makes them: the holder of
/// the role <see cref="Role"/>.
/// </summary>
public sealed partial class BounceService(HermodOptions hermod, DeliveryOptions delivery, IMessageStore store, IDeliveryQueue queue, IClusterRoles roles,
    TimeProvider time, ILogger<BounceService> logger) : IDisposable
{
    /// <summary>The role (<see cref="IClusterRoles"/>) of the node that makes the DSNs: two nodes reading the same owed DSN would both send it.</summary>
    public const string Role = "dsn";

    private readonly SemaphoreSlim _running = new(1, 1);
    private bool _held;

    /// <summary>
    /// Queues every owed DSN when this node holds <see cref="Role"/>, else nothing (the holder does); safe to call from
    /// several places at once (runs one at a time). Called now and then on every node, it is also how another node takes
    /// the role over once its holder died.
    /// </summary>
    public async Task SendPendingAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            var held = await roles.HoldAsync(Role, cancellationToken);
            if (held && !_held)
                LogRoleTaken(logger, hermod.NodeName);
            _held = held;
            if (!held)
                return;
            while (true)
            {
                var messages = await queue.PendingDsnAsync(50, cancellationToken);
                foreach (var message in messages)
                    await SendAsync(message, cancellationToken);
                if (messages.Count < 50)
                    return;
            }
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task SendAsync(StoredMessage original, CancellationToken cancellationToken)
    {
        var recipients = original.Deliveries.Where(d => d.DsnPending != DsnKind.None).Select(d => new DsnBuilder.Recipient(d, d.DsnPending)).ToList();
        var now = time.GetUtcNow();
        var envelope = new MessageEnvelope(
            QueueId.New(time), "", [new EnvelopeRecipient(original.Envelope.Sender, DsnNotify.Never)],
            new MessageSource("dsn", IPAddress.Loopback, hermod.Hostname, null, null),
            BodyType.EightBitMime, original.Envelope.SmtpUtf8);
        await using var blob = store.CreateBlobWriter();
        await using (var stream = new BlobStream(blob))
            await DsnBuilder.WriteAsync(stream, hermod.Hostname, original, recipients, now, original.Created + delivery.Retry.MaxAge,
                (output, ct) => store.CopyContentAsync(original.Envelope.Id, output, ct), cancellationToken);
        await queue.AcceptDsnAsync(envelope, "", blob, [.. recipients.Select(r => r.Delivery.Id)], cancellationToken);
        LogQueued(logger, envelope.Id, original.Envelope.Id, DsnBuilder.Subject(recipients), recipients.Count);
    }

    public void Dispose() => _running.Dispose();

    [LoggerMessage(3101, LogLevel.Information, "DSN {DsnId} for {MessageId} queued: {Subject} ({Recipients} recipient(s))")]
    private static partial void LogQueued(ILogger logger, string dsnId, string messageId, string subject, int recipients);

    [LoggerMessage(3102, LogLevel.Information, "This node ({Node}) makes the DSNs now")]
    private static partial void LogRoleTaken(ILogger logger, string node);
}
