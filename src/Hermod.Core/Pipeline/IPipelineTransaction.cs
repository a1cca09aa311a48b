using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Core.Pipeline;

/// <summary>One transaction through the pipeline: MAIL, each RCPT, then the body.</summary>
public interface IPipelineTransaction
{
    /// <summary>The envelope sender after the sender rewrites.</summary>
    string Sender { get; }

    /// <summary>The accepted recipients after rewrites and alias expansion, one per delivery (address and route).</summary>
    IReadOnlyList<EnvelopeRecipient> Recipients { get; }

    /// <summary>MAIL: null to accept the sender, else the refusal.</summary>
    ValueTask<SmtpReply?> MailAsync(string sender, CancellationToken cancellationToken);

    /// <summary>RCPT: null when the recipient is accepted (its deliveries join <see cref="Recipients"/>), else the refusal.</summary>
    ValueTask<SmtpReply?> RcptAsync(EnvelopeRecipient recipient, CancellationToken cancellationToken);

    /// <summary>Takes back the deliveries from <paramref name="index"/> on: the last recipient's, refused after all (by the next hop).</summary>
    void DropRecipientsFrom(int index);

    /// <summary>After the body is stored (not yet accepted): body checks and header modifiers.</summary>
    ValueTask<BodyDecision> BodyAsync(IBlobWriter body, CancellationToken cancellationToken);

    /// <summary>
    /// The header fields <see cref="BodyAsync"/> will add, when they are final before the body arrives — no body check
    /// or header modifier applies and nothing is quarantined, so the body stage can neither refuse nor change the
    /// header: the message may go on to a next hop while it arrives. Null when the body stage may still decide.
    /// </summary>
    string? FieldsBeforeBody { get; }
}

/// <summary>
/// The end of the body stage: a refusal, or what to store: header fields to add (after the trace header; e.g.
/// Authentication-Results), and the rewritten header block when modifiers changed it.
/// </summary>
public sealed record BodyDecision(SmtpReply? Refusal, string AddedFields = "", ReplacedHeader? Header = null, string? QuarantineReason = null)
{
    public static readonly BodyDecision Unchanged = new(Refusal: null);
}
