namespace Hermod.Core.Storage;

/// <summary>One delivery attempt of one recipient, with the upstream reply.</summary>
public sealed record AttemptView(long DeliveryId, DateTimeOffset Started, DateTimeOffset? Ended, string? RemoteHost, int? Code, string? Enhanced, string? Text);
