using System.Runtime.CompilerServices;
using System.Text;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using static Hermod.Smtp.Client.SmtpClientReplies;

namespace Hermod.Smtp.Client;

/// <summary>
/// The transaction step by step, each reply read before the next command (cut-through): MAIL (with the first RCPT),
/// RCPT, DATA ahead of the content, the content, or RSET to abort.
/// </summary>
public sealed partial class SmtpClientConnection
{
    /// <summary>
    /// Begins a transaction step by step: MAIL FROM with the parameters <see cref="SendAsync"/> would send (SIZE= only
    /// when <see cref="SmtpOutboundMessage.Size"/> is above 0, BODY, SMTPUTF8, RET/ENVID when the server offers DSN).
    /// <see cref="SmtpOutboundMessage.Recipients"/> may be empty (non-ASCII ones make it SMTPUTF8);
    /// <see cref="SmtpOutboundMessage.WriteContent"/> is not used. Returns the server's reply, or the local refusal of
    /// <see cref="LocalRefusal"/> without sending anything. After a 2xx the transaction is open.
    /// </summary>
    public async Task<SmtpReply> MailAsync(SmtpOutboundMessage message, CancellationToken ct) => (await MailAsync(message, null, ct)).Mail;

    /// <summary>
    /// <see cref="MailAsync(SmtpOutboundMessage, CancellationToken)"/> with the transaction's first recipient: when the
    /// server offers PIPELINING, MAIL and that RCPT go in one write and cost one round trip (RFC 2920); without it, RCPT
    /// follows MAIL's 2xx. Returns MAIL's reply and, when MAIL got a 2xx, the recipient's reply as
    /// <see cref="RcptAsync"/> would give it (null when MAIL was refused: a pipelined RCPT's reply to a refused MAIL is
    /// read and dropped). With <paramref name="first"/> null only MAIL goes.
    /// </summary>
    public async Task<(SmtpReply Mail, SmtpReply? Rcpt)> MailAsync(SmtpOutboundMessage message, EnvelopeRecipient? first, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckPath(message.Sender, nameof(message));
        foreach (var recipient in message.Recipients)
            CheckPath(recipient.Address, nameof(message));
        if (first is not null)
            CheckPath(first.Address, nameof(first));
        return await RunAsync((message, first), static (connection, args, ct) => connection.MailCoreAsync(args.message, args.first, ct), ct);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(SmtpReply Mail, SmtpReply? Rcpt)> MailCoreAsync(SmtpOutboundMessage message, EnvelopeRecipient? first, CancellationToken ct)
    {
        if (_stepOpen)
            throw new InvalidOperationException("A transaction is open: end it with ContentAsync or ResetAsync first");
        if (LocalRefusal(message) is { } refusal)
        {
            _transcript.Event($"not sending: {refusal}");
            return (refusal, null);
        }
        var smtpUtf8 = NeedsSmtpUtf8(message);
        var mailCommand = MailCommand(message, Capabilities, smtpUtf8);
        var local = first is null ? null : Refused(first, smtpUtf8);
        SmtpReply mail;
        SmtpReply? rcpt = null;
        if (first is not null && local is null && Capabilities.Pipelining && _options.UsePipelining)
        {
            var replies = new SmtpReply?[2];
            await PipelineAsync([mailCommand, RcptCommand(first, Capabilities)], replies, ct);
            (mail, rcpt) = (replies[0]!, replies[1]);
        }
        else
        {
            mail = await CommandAsync(mailCommand, SmtpClientStage.Mail, _options.CommandTimeout, ct);
            if (first is not null && IsSuccess(mail))
                rcpt = local ?? await CommandAsync(RcptCommand(first, Capabilities), SmtpClientStage.Rcpt, _options.CommandTimeout, ct);
        }
        if (!IsSuccess(mail))
            return (mail, null);
        rcpt ??= local;
        _stepOpen = true;
        _stepUtf8 = smtpUtf8;
        _stepAccepted = rcpt is not null && IsSuccess(rcpt);
        return (mail, rcpt);
    }

    /// <summary>A recipient a transaction cannot carry, refused without sending: a non-ASCII address without SMTPUTF8 (553 5.6.7).</summary>
    public static SmtpReply? RcptRefusal(EnvelopeRecipient recipient, bool smtpUtf8)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        return smtpUtf8 || Ascii.IsValid(recipient.Address) ? null : NonAsciiRecipient;
    }

    private SmtpReply? Refused(EnvelopeRecipient recipient, bool smtpUtf8)
    {
        var refusal = RcptRefusal(recipient, smtpUtf8);
        if (refusal is not null)
            _transcript.Event($"not sending: {refusal}");
        return refusal;
    }

    /// <summary>
    /// One RCPT TO (NOTIFY / ORCPT when the server offers DSN) in the transaction <c>MailAsync</c> opened; returns
    /// the server's reply (a 421 ends the session). A non-ASCII address in a transaction without SMTPUTF8 is refused
    /// locally (553 5.6.7) without sending. Throws <see cref="InvalidOperationException"/> when no transaction is open.
    /// </summary>
    public async Task<SmtpReply> RcptAsync(EnvelopeRecipient recipient, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        CheckPath(recipient.Address, nameof(recipient));
        return await RunAsync(recipient, static (connection, recipient, ct) => connection.RcptCoreAsync(recipient, ct), ct);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SmtpReply> RcptCoreAsync(EnvelopeRecipient recipient, CancellationToken ct)
    {
        if (!_stepOpen)
            throw new InvalidOperationException("RCPT needs an open transaction: MailAsync first, with a 2xx reply");
        if (_dataReply is not null)
            throw new InvalidOperationException("DATA was sent: the content comes next");
        if (Refused(recipient, _stepUtf8) is { } refusal)
            return refusal;
        var reply = await CommandAsync(RcptCommand(recipient, Capabilities), SmtpClientStage.Rcpt, _options.CommandTimeout, ct);
        _stepAccepted |= IsSuccess(reply);
        return reply;
    }

    /// <summary>
    /// Opens the content phase of the open transaction ahead of <see cref="ContentAsync"/>, so that the content costs
    /// one round trip less when it comes: DATA, and its reply (returned). With CHUNKING there is nothing to open (BDAT
    /// carries the content): null, and nothing is sent. After a 354 the server waits for the content and only
    /// <see cref="ContentAsync"/> can follow — <see cref="ResetAsync"/> then closes the connection instead, since an
    /// RSET would be read as content. Any other reply is what <see cref="ContentAsync"/> will answer. Throws
    /// <see cref="InvalidOperationException"/> unless a recipient was accepted, or when DATA went already.
    /// </summary>
    public async Task<SmtpReply?> OpenDataAsync(CancellationToken ct) =>
        await RunAsync(default(ValueTuple), static (connection, _, ct) => connection.OpenDataCoreAsync(ct), ct);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SmtpReply?> OpenDataCoreAsync(CancellationToken ct)
    {
        if (!_stepOpen || !_stepAccepted)
            throw new InvalidOperationException("No recipient was accepted: there is no transaction to send content in");
        if (_dataReply is not null)
            throw new InvalidOperationException("DATA was sent already");
        if (Capabilities.Chunking && _options.UseChunking)
            return null;
        var data = await CommandAsync("DATA", SmtpClientStage.Data, _options.DataInitiationTimeout, ct);
        if (IsSuccess(data))
            throw Fail(SmtpClientStage.Data, $"The server answered DATA with {data.Code} instead of 354", null);
        _dataReply = data;
        return data;
    }

    /// <summary>
    /// Sends the content of the open transaction as <see cref="SendAsync"/> does — BDAT when the server offers
    /// CHUNKING, else DATA (354, then the content dot-stuffed) — and ends the transaction. Returns the final reply
    /// (after the last chunk or the final dot, or the refusal of DATA or of a chunk) and the content octets written;
    /// a 2xx counts in <see cref="MessagesSent"/>, anything else is followed by RSET. Throws
    /// <see cref="InvalidOperationException"/> unless at least one <see cref="RcptAsync"/> got a 2xx.
    /// </summary>
    public async Task<(SmtpReply Final, long Length)> ContentAsync(Func<Stream, CancellationToken, Task> writeContent, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(writeContent);
        return await RunAsync(writeContent, static (connection, writeContent, ct) => connection.ContentCoreAsync(writeContent, ct), ct);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(SmtpReply Final, long Length)> ContentCoreAsync(Func<Stream, CancellationToken, Task> writeContent, CancellationToken ct)
    {
        if (!_stepOpen || !_stepAccepted)
            throw new InvalidOperationException("No recipient was accepted: there is no transaction to send content in");
        _stepOpen = false;
        SmtpReply final;
        long length = 0;
        if (Capabilities.Chunking && _options.UseChunking)
            (final, length) = await SendBdatAsync(writeContent, ct);
        else
        {
            var data = _dataReply ?? await CommandAsync("DATA", SmtpClientStage.Data, _options.DataInitiationTimeout, ct);
            _dataReply = null;
            if (data.Code == 354)
                (final, length) = await SendDataAsync(writeContent, ct);
            else if (IsSuccess(data))
                throw Fail(SmtpClientStage.Data, $"The server answered DATA with {data.Code} instead of 354", null);
            else
                final = data;
        }
        if (IsSuccess(final))
            MessagesSent++;
        else if (IsUsable)
            await TryResetAsync(ct);
        return (final, length);
    }

    /// <summary>
    /// RSET (RFC 5321 4.1.1.5): aborts any transaction (one begun with <see cref="MailAsync(SmtpOutboundMessage, CancellationToken)"/>
    /// too); the connection can carry the next message. After <see cref="OpenDataAsync"/> got its 354 there is no way
    /// back but closing: throws <see cref="SmtpClientException"/> and the connection is no longer usable.
    /// </summary>
    public async Task<SmtpReply> ResetAsync(CancellationToken ct) =>
        await RunAsync(default(ValueTuple), static (connection, _, ct) => connection.ResetCoreAsync(ct), ct);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SmtpReply> ResetCoreAsync(CancellationToken ct)
    {
        _stepOpen = false;
        var inData = _dataReply?.Code == 354;
        _dataReply = null;
        if (inData) // the server reads everything as content now, RSET too: only closing ends the transaction
            throw Fail(SmtpClientStage.Reset, "The transaction was given up after DATA: the connection cannot be reset", null);
        return await CommandAsync("RSET", SmtpClientStage.Reset, _options.CommandTimeout, ct);
    }
}
