namespace Hermod.Core.Storage;

/// <summary>A recipient of a message. <see cref="Route"/>: the delivery route (see <see cref="RouteKey"/>); null: the default route of its domain.</summary>
public sealed record EnvelopeRecipient(string Address, DsnNotify Notify = DsnNotify.Default, string? OriginalRecipient = null, string? Route = null);
