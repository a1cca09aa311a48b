namespace Hermod.Core.Diagnostics;

/// <summary>
/// Why a command or message was refused: the <c>reason</c> tag of <c>hermod.smtp.rejections</c>, each value as
/// docs/metrics.md lists it (<see cref="UnknownCommand"/> is <c>unknown_command</c>; see <see cref="HermodMetrics.Reject"/>).
/// </summary>
public enum RejectReason
{
    Syntax,
    UnknownCommand,
    BadSequence,
    LineTooLong,
    RelayDenied,
    AuthRequired,
    AuthWithoutTls,
    Auth,
    AuthFailed,
    BadSender,
    BadRecipient,
    SmtpUtf8,
    StartTls,
    Size,
    TooManyRecipients,
    BareLineEnding,
    HeaderTooLarge,
    Timeout,
    DataRate,
    Storage,
    /// <summary>A check, a reject block or a stream processor refused.</summary>
    Policy,
    /// <summary>Cut-through handed the next hop's refusal back.</summary>
    Upstream,
}
