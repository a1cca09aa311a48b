using System.Net;
using System.Text;
using Hermod.Core.Storage;
using Hermod.Delivery.Targets;
using Hermod.Delivery.Transport;

namespace Hermod.Delivery.Tests.Targets;

/// <summary>Messages and recipients built by hand for delivery target tests, and a full delivery run.</summary>
internal static class TargetKit
{
    public static readonly DateTimeOffset Created = new(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);

    /// <summary>A message of about <paramref name="size"/> bytes: CRLF lines, some 8-bit bytes, a header block.</summary>
    public static byte[] Content(string subject, int size)
    {
        var text = new StringBuilder();
        text.Append("Received: from client.origin.test\r\nFrom: sender@origin.test\r\nSubject: ").Append(subject).Append("\r\n\r\n");
        for (var line = 0; text.Length < size; line++)
            text.Append("line ").Append(line).Append(" of the body, caf\u00e9 \u2713 -- not a boundary\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>A stored message whose content writer streams <paramref name="content"/> in 8 KiB pieces.</summary>
    public static TargetMessage Message(byte[] content, string domain, params string[] recipients)
    {
        var envelope = new MessageEnvelope($"msg-{Guid.NewGuid():N}", "sender@origin.test",
            [.. recipients.Select(r => new EnvelopeRecipient(r))],
            new MessageSource("inbound", IPAddress.Parse("192.0.2.7"), "client.origin.test", "alice", "TLSv1.3"));
        var stored = new StoredMessage(envelope, content.Length, Created, []);
        return new TargetMessage(stored, domain, async (stream, ct) =>
        {
            for (var offset = 0; offset < content.Length; offset += 8192)
                await stream.WriteAsync(content.AsMemory(offset, Math.Min(8192, content.Length - offset)), ct);
        });
    }

    public static QueuedRecipient Recipient(long id, string address) => new(id, address, DsnNotify.Default, null, 0, false);

    /// <summary>What one delivery run answered: per recipient, the early refusal or the body reply.</summary>
    public sealed record Run(Dictionary<long, UpstreamReply> Refused, TransportResult? Body);

    /// <summary>Start, add each recipient, body (when any was accepted), then commit or abort.</summary>
    public static async Task<Run> DeliverAsync(IDeliveryTarget target, TargetMessage message, IEnumerable<QueuedRecipient> recipients, bool commit = true)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var delivery = await target.StartAsync(message, timeout.Token);
        var refused = new Dictionary<long, UpstreamReply>();
        var accepted = 0;
        foreach (var recipient in recipients)
            if (await delivery.AddRecipientAsync(recipient, timeout.Token) is { } reply)
                refused[recipient.DeliveryId] = reply;
            else
                accepted++;
        if (accepted == 0)
        {
            await delivery.AbortAsync(timeout.Token);
            return new Run(refused, null);
        }
        var body = await delivery.BodyAsync(timeout.Token);
        if (commit)
            await delivery.CommitAsync(timeout.Token);
        else
            await delivery.AbortAsync(timeout.Token);
        return new Run(refused, body);
    }
}
