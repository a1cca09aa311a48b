using System.Net;

namespace Hermod.Core.Storage;

/// <summary>RFC 3461 NOTIFY; <see cref="Default"/> means the client sent none.</summary>
[Flags]
public enum DsnNotify
{
    Default = 0,
    Never = 1,
    Success = 2,
    Failure = 4,
    Delay = 8,
}

/// <summary>RFC 3461 RET.</summary>
public enum DsnReturn { Default, Full, Headers }

/// <summary>RFC 6152 / 3030 BODY.</summary>
public enum BodyType { SevenBit, EightBitMime }

/// <summary>A recipient of a message. <see cref="Route"/>: the delivery route (see <see cref="RouteKey"/>); null: the default route of its domain.</summary>
public sealed record EnvelopeRecipient(string Address, DsnNotify Notify = DsnNotify.Default, string? OriginalRecipient = null, string? Route = null);

/// <summary>Where a message came from: stored with it for the trace, the API and policy. <see cref="Tenant"/>: the API tenant that sent it.</summary>
public sealed record MessageSource(string Listener, IPAddress ClientAddress, string Helo, string? AuthUser, string? TlsProtocol, string? Tenant = null);

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
