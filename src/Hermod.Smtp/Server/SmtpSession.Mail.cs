// SmtpSession: the mail transaction's commands — MAIL and RCPT, and the reset that ends a transaction.
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Storage;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Server;

public sealed partial class SmtpSession
{
    private async Task<bool> MailAsync(string argument)
    {
        if (_listener.Auth == AuthMode.Required && _authUser is null)
        {
            Error(SmtpReplies.AuthRequired, RejectReason.AuthRequired);
            return false;
        }
        if (!PathParser.TrySplit(argument, "FROM:", out var path, out var parameters, out var syntax))
        {
            Error(SmtpReplies.PathSyntax(syntax), RejectReason.Syntax);
            return false;
        }
        var mailbox = "";
        if (path.Length > 0 && !PathParser.TryParseMailbox(path, out mailbox, out var why))
        {
            Error(SmtpReplies.BadSender(why), RejectReason.BadSender);
            return false;
        }
        if (!MailParameters.TryParse(parameters, out var mail, out var bad))
        {
            Error(bad, RejectReason.Syntax);
            return false;
        }
        if (mail.Size > _limits.MaxMessageSize)
        {
            _ctx.Metrics.Reject(_listener.Name, RejectReason.Size);
            Reply(SmtpReplies.MessageTooBig);
            return false;
        }
        if (!mail.SmtpUtf8 && !PathParser.IsAscii(mailbox))
        {
            Error(SmtpReplies.NonAsciiWithoutSmtpUtf8, RejectReason.SmtpUtf8);
            return false;
        }
        var pipeline = _pipeline.Begin(Session, _connection);
        if (await pipeline.MailAsync(mailbox, _stopping) is { } refused)
        {
            _ctx.Metrics.Reject(_listener.Name, RejectReason.Policy);
            Reply(refused);
            return false;
        }
        var id = QueueId.New(_ctx.Time);
        var cut = _ctx.CutThrough?.Begin(new CutThroughStart(id, pipeline.Sender,
            new MessageSource(_listener.Name, _remote, _helo, _authUser, _tls is null ? null : TlsProtocol),
            mail.Body, mail.SmtpUtf8, mail.Ret, mail.EnvelopeId, mail.Size ?? 0, _listener.Role == ListenerRole.Submission, _listener.CutThrough));
        _tx = _transaction ??= new SmtpTransaction();
        _tx.Begin(id, pipeline, mail, cut);
        Reply(SmtpReplies.SenderOk);
        return true;
    }

    private async Task<bool> RcptAsync(string argument)
    {
        var tx = _tx!;
        if (tx.Recipients.Count >= _limits.MaxRecipients)
        {
            _ctx.Metrics.Reject(_listener.Name, RejectReason.TooManyRecipients);
            Reply(SmtpReplies.TooManyRecipients);
            return false;
        }
        if (!PathParser.TrySplit(argument, "TO:", out var path, out var parameters, out var syntax))
        {
            Error(SmtpReplies.PathSyntax(syntax), RejectReason.Syntax);
            return false;
        }
        string mailbox;
        string domain;
        if (path.Equals("postmaster", StringComparison.OrdinalIgnoreCase)) // RFC 5321 4.1.1.3
        {
            mailbox = "postmaster";
            domain = _ctx.Hostname;
        }
        else if (PathParser.TryParseMailbox(path, out mailbox, out var why))
            domain = mailbox[(mailbox.LastIndexOf('@') + 1)..];
        else
        {
            Error(SmtpReplies.BadRecipient(why), RejectReason.BadRecipient);
            return false;
        }
        if (!RcptParameters.TryParse(parameters, out var rcpt, out var bad))
        {
            Error(bad, RejectReason.Syntax);
            return false;
        }
        if (!tx.Parameters.SmtpUtf8 && !PathParser.IsAscii(mailbox))
        {
            Error(SmtpReplies.NonAsciiWithoutSmtpUtf8, RejectReason.SmtpUtf8);
            return false;
        }
        if (_authUser is null && mailbox != "postmaster" && !_ctx.LocalDomains.Contains(domain))
        {
            Error(SmtpReplies.RelayDenied, RejectReason.RelayDenied);
            return false;
        }
        var recipient = new EnvelopeRecipient(mailbox, rcpt.Notify, rcpt.OriginalRecipient);
        var pipeline = tx.Pipeline;
        var first = pipeline.Recipients.Count;
        if (await pipeline.RcptAsync(recipient, _stopping) is { } refused)
        {
            _ctx.Metrics.Reject(_listener.Name, RejectReason.Policy);
            Reply(refused);
            return false;
        }
        if (tx.CutThrough is not null && await tx.CutThrough.AddRecipientAsync([.. pipeline.Recipients.Skip(first)], first, _stopping) is { } upstream)
        {
            pipeline.DropRecipientsFrom(first);
            _ctx.Metrics.Reject(_listener.Name, RejectReason.Upstream);
            Reply(upstream);
            return false;
        }
        tx.AddRecipient(recipient);
        Reply(SmtpReplies.RecipientOk);
        return true;
    }

    /// <summary>The transaction is over, or there was none: what it holds goes.</summary>
    private void ResetTransaction()
    {
        _tx?.Dispose();
        _tx = null;
    }
}
