namespace Hermod.Hosting.Http.V1;

/// <summary>A recipient of an accepted message: <see cref="Status"/> is queued, or — with cut-through — what its next hop already answered: delivered, failed (refused for good) or deferred, with <see cref="Reply"/>.</summary>
public sealed record RecipientId(string Id, string Address, string Status = "queued", string? Reply = null);

public sealed record SendResponse(string Id, IReadOnlyList<RecipientId> Recipients);
