using Hermod.Core.Configuration;
using Hermod.Core.Smtp;
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
public sealed record CutThroughOutcome(SmtpReply? Refusal, CutThroughAttempt? Attempt, SmtpReply? Delivered = null);

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

/// <summary>
/// The content of a cut-through transaction while it arrives, for the next hops that take it as it streams in. The
/// next hops end their data only once <see cref="ICutThroughTransaction.DataAsync"/> is called — the content is
/// then complete and accepted; until then it can still be refused, and <see cref="Fail"/> (or disposing the
/// transaction) cuts their transactions off before their end of data: nothing is delivered.
/// </summary>
public interface ICutThroughContent
{
    /// <summary>The next bytes of the content (copied).</summary>
    void Write(ReadOnlySpan<byte> data);

    /// <summary>Hands what was written on; waits while a next hop is far behind (bounded memory). A next hop that gave up is left out from then on.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>The content is refused or abandoned: the next hops' transactions end without their end of data. Idempotent; nothing once DataAsync was called.</summary>
    void Fail();
}
