using Hermod.Core.Smtp;

namespace Hermod.Policy.Pipeline;

/// <summary>The outcome of a stage: the refusal that ended it (if any), the headers the checks added, and whether to quarantine.</summary>
public sealed record StageOutcome(SmtpReply? Refusal, IReadOnlyList<KeyValuePair<string, string>> Headers, string? QuarantineReason)
{
    public bool Refused => Refusal is not null;
}
