namespace Hermod.Core.Storage;

public sealed record RecipientOutcome(long DeliveryId, AttemptStatus Status, UpstreamReply Reply, DateTimeOffset? NextAttempt = null, DsnKind Dsn = DsnKind.None);
