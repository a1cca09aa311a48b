using Hermod.Core.Storage;

namespace Hermod.Hosting.Http.V1;

public sealed record EventItem(long Cursor, string MessageId, string? RecipientId, string? Recipient, string Type, DateTimeOffset At, string? Detail)
{
    internal static EventItem From(DeliveryEvent e, IReadOnlyDictionary<long, string> recipientIds) =>
        new(e.Id, e.MessageId, e.DeliveryId is { } d && recipientIds.TryGetValue(d, out var rid) ? rid : null, e.Recipient, e.Type, e.At, e.Detail);
}

public sealed record EventPage(IReadOnlyList<EventItem> Events, long Next);
