namespace Hermod.Core.Storage;

/// <summary>A recipient claimed for an attempt.</summary>
public sealed record QueuedRecipient(long DeliveryId, string Address, DsnNotify Notify, string? OriginalRecipient, int Attempts, bool DelayWarned);
