using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Core.Pipeline;

/// <summary>
/// The end of a cut-through transaction: <see cref="Refusal"/> goes back to the client verbatim and nothing is
/// stored; otherwise the message is accepted with <see cref="Attempt"/> (what the next hops already answered) as its
/// first attempt, and the client gets <see cref="Delivered"/> (every next hop's 250: the first of them) or Hermod's 250.
/// </summary>
public sealed record CutThroughOutcome(SmtpReply? Refusal, CutThroughAttempt? Attempt, SmtpReply? Delivered = null);

/// <summary>One transaction's upstream transactions, one per route (exploder): all its recipients at that route.</summary>
public interface ICutThroughTransaction : IAsyncDisposable
{
    /// <summary>
    /// RCPT: <paramref name="deliveries"/> are the recipient's deliveries (from the pipeline); each is identified by its
    /// index in the transaction's delivery list, <paramref name="firstIndex"/> on. Returns null when the client gets
    /// 250 (accepted upstream, or kept for store and forward), else the refusal (upstream's, or 450 on a timeout).
    /// Several deliveries are refused only when every one is refused alike; otherwise one refused for good is kept,
    /// as failed, in the outcome of <see cref="DataAsync"/>.
    /// </summary>
    Task<SmtpReply?> AddRecipientAsync(IReadOnlyList<EnvelopeRecipient> deliveries, int firstIndex, CancellationToken cancellationToken);

    /// <summary>
    /// The content begins (DATA, or the first BDAT chunk), before any of it is read. With
    /// <paramref name="headerPrefix"/> — what precedes the content as it will be stored (trace header, added fields),
    /// final already — the content goes on to the next hops as it arrives: the result takes it. Null (no prefix
    /// yet, or no next hop took recipients): the content goes at the end of data, as a whole.
    /// </summary>
    ICutThroughContent? OpenContent(string? headerPrefix);

    /// <summary>
    /// The client has its 354 (or its first BDAT chunk is in): the next hops that took recipients open their content
    /// phase now (SMTP: DATA) and, when the content streams (<see cref="OpenContent"/>), start taking it.
    /// </summary>
    void ContentBegins();

    /// <summary>
    /// End of data, the content accepted: it goes to every next hop (or ends, for those it streamed to) that took recipients; waits the data window for the answers.
    /// <paramref name="deliveries"/> is the transaction's whole delivery list (indexes as in <see cref="AddRecipientAsync"/>).
    /// </summary>
    Task<CutThroughOutcome> DataAsync(Func<Stream, CancellationToken, Task> writeContent, long size, IReadOnlyList<EnvelopeRecipient> deliveries,
        CancellationToken cancellationToken);
}
