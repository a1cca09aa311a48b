using Hermod.Core.Configuration;
using Hermod.Core.Storage;

namespace Hermod.Core.Pipeline;

/// <summary>
/// What a cut-through transaction knows when MAIL is accepted. <see cref="KeepRefused"/> (HTTP submission, which
/// cannot refuse one recipient of a request): a recipient the next hop refuses for good at RCPT is kept, as failed
/// (the response says so; no DSN), instead of being refused to the client.
/// </summary>
public sealed record CutThroughStart(
    string MessageId,
    string Sender,
    MessageSource Source,
    BodyType Body,
    bool SmtpUtf8,
    DsnReturn Ret,
    string? EnvelopeId,
    long SizeHint,
    bool Submission,
    CutThroughOptions Options,
    bool KeepRefused = false);

/// <summary>
/// Opportunistic cut-through (docs/cut-through.md): the SMTP server (and HTTP submission) hand each accepted recipient to the
/// next hop while the client waits, and its answer back, within the listener's windows.
/// </summary>
public interface ICutThrough
{
    /// <summary>A transaction at MAIL; null when cut-through is off for it.</summary>
    ICutThroughTransaction? Begin(CutThroughStart start);
}
