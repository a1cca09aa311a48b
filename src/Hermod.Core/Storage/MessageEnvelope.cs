namespace Hermod.Core.Storage;

/// <summary>Everything about a message except its content. <see cref="Metadata"/>: the API caller's tags and metadata, as JSON.</summary>
public sealed record MessageEnvelope(
    string Id,
    string Sender,
    IReadOnlyList<EnvelopeRecipient> Recipients,
    MessageSource Source,
    BodyType Body = BodyType.SevenBit,
    bool SmtpUtf8 = false,
    DsnReturn Ret = DsnReturn.Default,
    string? EnvelopeId = null,
    string? SubmissionId = null,
    string? Metadata = null,
    string? QuarantineReason = null);
