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
/// The end of a cut-through transaction: <see cref="Refusal"/> goes back to the client verbatim and nothing is
/// stored; otherwise the message is accepted with <see cref="Attempt"/> (what the next hops already answered) as its
/// first attempt, and the client gets <see cref="Delivered"/> (every next hop's 250: the first of them) or Hermod's 250.
/// </summary>
public sealed record CutThroughOutcome(PolicyReply? Refusal, CutThroughAttempt? Attempt, PolicyReply? Delivered = null);

/// <summary>
/// Opportunistic cut-through (DESIGN.md): the SMTP server (and HTTP submission) hand each accepted recipient to the
/// next hop while the client waits, and its answer back, within the listener's windows.
/// </summary>
public interface ICutThrough
{
    /// <summary>A transaction at MAIL; null when cut-through is off for it.</summary>
    ICutThroughTransaction? Begin(CutThroughStart start);
}

/// <summary>One transaction's upstream transactions, one per route (exploder): all its recipients at that route.</summary>
public interface ICutThroughTransaction : IAsyncDisposable
{
    /// <summary>
    /// RCPT: <paramref name="deliveries"/> are the recipient's deliveries (from the pipeline); each is identified by its
    /// index in the transaction's delivery list, <paramref name="firstIndex"/> on. Returns null when the client gets
    /// 250 (accepted upstream, or kept for store and forward), else the refusal (upstream's, or 450 on a timeout).
    /// </summary>
    Task<PolicyReply?> AddRecipientAsync(IReadOnlyList<EnvelopeRecipient> deliveries, int firstIndex, CancellationToken cancellationToken);

    /// <summary>The client has begun sending the content: next hops that took recipients may open their content phase now (SMTP: DATA).</summary>
    void ContentBegins();

    /// <summary>
    /// End of data: the content goes to every next hop that took recipients; waits the data window for the answers.
    /// <paramref name="deliveries"/> is the transaction's whole delivery list (indexes as in <see cref="AddRecipientAsync"/>).
    /// </summary>
    Task<CutThroughOutcome> DataAsync(Func<Stream, CancellationToken, Task> writeContent, long size, IReadOnlyList<EnvelopeRecipient> deliveries,
        CancellationToken cancellationToken);
}
