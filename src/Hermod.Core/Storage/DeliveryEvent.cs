namespace Hermod.Core.Storage;

/// <summary>One delivery event for the API feed and webhooks; <see cref="Id"/> is the feed cursor.</summary>
public sealed record DeliveryEvent(long Id, string MessageId, long? DeliveryId, string? Recipient, string Type, DateTimeOffset At, string? Detail, string? Tenant = null);
