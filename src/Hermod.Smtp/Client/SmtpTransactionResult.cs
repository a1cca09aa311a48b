using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Smtp.Client;

public enum SmtpRecipientStatus
{
    /// <summary>RCPT got 2xx and the content got a final 2xx: the server is responsible for the message.</summary>
    Delivered,

    /// <summary>A 4xx (or a 552 to RCPT, RFC 5321 4.5.3.1.10): try again later.</summary>
    TemporaryFailure,

    /// <summary>A 5xx: give up and bounce.</summary>
    PermanentFailure,
}

/// <summary>What happened to one recipient, and the reply that decided it.</summary>
public sealed record SmtpRecipientResult(EnvelopeRecipient Recipient, SmtpRecipientStatus Status, SmtpReply Reply);

/// <summary>
/// The replies of one mail transaction. The server answered every step (the conversation broke otherwise, and
/// <see cref="SmtpClientConnection.SendAsync"/> threw <see cref="SmtpClientException"/>).
/// When <see cref="RejectedLocally"/>, nothing was sent and <see cref="MailReply"/> is the client's own reason.
/// When a 421 closed the session part-way, the steps left unanswered carry that 421.
/// </summary>
public sealed class SmtpTransactionResult
{
    private readonly IReadOnlyList<EnvelopeRecipient> _recipients;
    private SmtpRecipientResult[]? _results;

    internal SmtpTransactionResult(IReadOnlyList<EnvelopeRecipient> recipients, SmtpReply mailReply, IReadOnlyList<SmtpReply> recipientReplies,
        SmtpReply? finalReply, bool rejectedLocally, long contentLength)
    {
        _recipients = recipients;
        MailReply = mailReply;
        RecipientReplies = recipientReplies;
        FinalReply = finalReply;
        RejectedLocally = rejectedLocally;
        ContentLength = contentLength;
    }

    internal static SmtpTransactionResult Local(IReadOnlyList<EnvelopeRecipient> recipients, SmtpReply reason)
    {
        var replies = new SmtpReply[recipients.Count];
        Array.Fill(replies, reason);
        return new SmtpTransactionResult(recipients, reason, replies, null, rejectedLocally: true, 0);
    }

    /// <summary>The reply to MAIL FROM (or the local reason when <see cref="RejectedLocally"/>).</summary>
    public SmtpReply MailReply { get; }

    /// <summary>
    /// One reply per recipient, in order. Without PIPELINING, RCPT is not sent after a refused MAIL: those entries
    /// are the MAIL reply.
    /// </summary>
    public IReadOnlyList<SmtpReply> RecipientReplies { get; }

    /// <summary>
    /// The reply that ended the content: after the final "." or the BDAT LAST chunk, or the refusal of DATA or of a
    /// BDAT chunk. Null when no recipient was accepted (nothing was sent).
    /// </summary>
    public SmtpReply? FinalReply { get; }

    /// <summary>The client refused the message before sending anything (size over the server's SIZE, SMTPUTF8 not offered).</summary>
    public bool RejectedLocally { get; }

    /// <summary>Content octets written by the content source (before dot-stuffing); 0 when none was sent.</summary>
    public long ContentLength { get; }

    /// <summary>Every recipient's outcome, in order.</summary>
    public IReadOnlyList<SmtpRecipientResult> Recipients => _results ??= Evaluate();

    public bool AllDelivered
    {
        get
        {
            foreach (var r in Recipients)
                if (r.Status != SmtpRecipientStatus.Delivered)
                    return false;
            return true;
        }
    }

    /// <summary>The outcome of recipient <paramref name="index"/> (in the message's order).</summary>
    public SmtpRecipientResult GetRecipientResult(int index) => Recipients[index];

    private SmtpRecipientResult[] Evaluate()
    {
        var results = new SmtpRecipientResult[_recipients.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var reply = !IsSuccess(MailReply) ? MailReply
                : !IsSuccess(RecipientReplies[i]) ? RecipientReplies[i]
                : FinalReply ?? RecipientReplies[i];
            var rcptRefused = IsSuccess(MailReply) && !IsSuccess(RecipientReplies[i]);
            var status = IsSuccess(reply) && FinalReply is not null ? SmtpRecipientStatus.Delivered
                : reply.Code >= 500 && !(rcptRefused && reply.Code == 552) ? SmtpRecipientStatus.PermanentFailure
                : SmtpRecipientStatus.TemporaryFailure;
            results[i] = new SmtpRecipientResult(_recipients[i], status, reply);
        }
        return results;
    }

    internal static bool IsSuccess(SmtpReply reply) => reply.Code is >= 200 and < 300;

    public override string ToString() =>
        $"MAIL {MailReply.Code}, RCPT {string.Join(",", RecipientReplies.Select(r => r.Code))}, final {FinalReply?.Code.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}";
}
