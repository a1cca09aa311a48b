using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;
using static Hermod.Smtp.Client.SmtpClientReplies;

namespace Hermod.Smtp.Client;

/// <summary>
/// The whole transaction in one call (<see cref="SendAsync"/>), and the parts the step-by-step one shares with it:
/// the MAIL and RCPT command lines, PIPELINING and lockstep, the content with DATA or BDAT, RSET after a failure.
/// </summary>
public sealed partial class SmtpClientConnection
{
    /// <summary>
    /// Sends one message: MAIL, RCPT for each recipient, then the content with BDAT (CHUNKING) or DATA. With
    /// PIPELINING, MAIL, the RCPTs and DATA go in one write and their replies are read in order. Ends with RSET
    /// when the transaction did not end with a 2xx, so the connection is ready for the next message.
    /// </summary>
    public async Task<SmtpTransactionResult> SendAsync(SmtpOutboundMessage message, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Recipients.Count == 0)
            throw new ArgumentException("A message needs at least one recipient", nameof(message));
        CheckPath(message.Sender, nameof(message));
        foreach (var recipient in message.Recipients)
            CheckPath(recipient.Address, nameof(message));
        return await RunAsync(message, static (connection, message, ct) => connection.SendCoreAsync(message, ct), ct);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SmtpTransactionResult> SendCoreAsync(SmtpOutboundMessage message, CancellationToken ct)
    {
        if (_stepOpen)
            throw new InvalidOperationException("A transaction begun with MailAsync is open: end it with ContentAsync or ResetAsync first");
        var caps = Capabilities;
        var recipients = message.Recipients;
        var smtpUtf8 = NeedsSmtpUtf8(message);
        if (LocalRefusal(message) is { } refusal)
            return Refuse(recipients, refusal);

        var chunking = caps.Chunking && _options.UseChunking;
        var pipelining = caps.Pipelining && _options.UsePipelining;
        var commands = new List<string>(recipients.Count + 2) { MailCommand(message, caps, smtpUtf8) };
        foreach (var r in recipients)
            commands.Add(RcptCommand(r, caps));
        if (!chunking)
            commands.Add("DATA");

        var replies = new SmtpReply?[commands.Count];
        var closing = pipelining
            ? await PipelineAsync(commands, replies, ct)
            : await LockstepAsync(commands, replies, recipients.Count, ct);
        var mailReply = replies[0]!;
        var recipientReplies = new SmtpReply[recipients.Count];
        var accepted = false;
        for (var i = 0; i < recipientReplies.Length; i++)
        {
            recipientReplies[i] = replies[i + 1] ?? mailReply;
            accepted |= IsSuccess(recipientReplies[i]);
        }
        accepted &= IsSuccess(mailReply);

        SmtpReply? final = null;
        long contentLength = 0;
        if (closing is not null)
            final = accepted ? closing : null;
        else if (!chunking)
        {
            var dataReply = replies[^1];
            if (dataReply?.Code == 354 && accepted)
                (final, contentLength) = await SendDataAsync(message.WriteContent, ct);
            else if (dataReply?.Code == 354)
            {
                // DATA got through with no recipient accepted: end the (empty) content at once, then RSET.
                _transcript.Client(".");
                Write(".");
                await FlushAsync(SmtpClientStage.Content, _options.DataBlockTimeout, ct);
                await ReadReplyAsync(_options.DataTerminationTimeout, SmtpClientStage.EndOfData, ct);
            }
            else if (dataReply is not null && accepted)
            {
                if (IsSuccess(dataReply))
                    throw Fail(SmtpClientStage.Data, $"The server answered DATA with {dataReply.Code} instead of 354", null);
                final = dataReply;
            }
        }
        else if (accepted)
            (final, contentLength) = await SendBdatAsync(message.WriteContent, ct);

        if (final is not null && IsSuccess(final))
            MessagesSent++;
        else if (IsUsable)
            await TryResetAsync(ct);
        return new SmtpTransactionResult(recipients, mailReply, recipientReplies, final, rejectedLocally: false, contentLength);
    }

    /// <summary>RSET after a failed transaction; its own failure only makes the connection unusable.</summary>
    private async Task TryResetAsync(CancellationToken ct)
    {
        try
        {
            await CommandAsync("RSET", SmtpClientStage.Reset, _options.CommandTimeout, ct);
        }
        catch (SmtpClientException)
        {
            // recorded: _broken is set and the transcript says why
        }
    }

    /// <summary>
    /// The reply with which <see cref="SendAsync"/> and <c>MailAsync</c> refuse <paramref name="message"/> on
    /// this connection without sending anything: it needs SMTPUTF8 (flag or non-ASCII address) and the server does
    /// not offer it (553 5.6.7), or its <see cref="SmtpOutboundMessage.Size"/> exceeds the server's SIZE (552 5.3.4).
    /// Null when it can be sent.
    /// </summary>
    public SmtpReply? LocalRefusal(SmtpOutboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var caps = Capabilities;
        if (NeedsSmtpUtf8(message) && !caps.SmtpUtf8)
            return SmtpUtf8NotOffered;
        if (caps.MaxSize is { } max && message.Size > max)
            return OverSizeLimit(message.Size, max);
        return null;
    }

    private static bool NeedsSmtpUtf8(SmtpOutboundMessage message)
    {
        var smtpUtf8 = message.SmtpUtf8 || !Ascii.IsValid(message.Sender);
        foreach (var r in message.Recipients)
            smtpUtf8 |= !Ascii.IsValid(r.Address);
        return smtpUtf8;
    }

    private SmtpTransactionResult Refuse(IReadOnlyList<EnvelopeRecipient> recipients, SmtpReply reason)
    {
        _transcript.Event($"not sending: {reason}");
        return SmtpTransactionResult.Local(recipients, reason);
    }

    /// <summary>Addresses go into command lines as they are: no control characters (command injection).</summary>
    private static void CheckPath(string address, string parameter)
    {
        ArgumentNullException.ThrowIfNull(address, parameter);
        foreach (var c in address)
            if (c < ' ' || c == 127)
                throw new ArgumentException($"Address contains a control character: {PathParser.Sanitize(address)}", parameter);
    }

    private static string MailCommand(SmtpOutboundMessage message, SmtpCapabilities caps, bool smtpUtf8)
    {
        var sb = new StringBuilder("MAIL FROM:<").Append(message.Sender).Append('>');
        if (caps.Size && message.Size > 0)
            sb.Append(" SIZE=").Append(message.Size.ToString(CultureInfo.InvariantCulture));
        if (message.Body == BodyType.EightBitMime && caps.EightBitMime)
            sb.Append(" BODY=8BITMIME");
        if (smtpUtf8)
            sb.Append(" SMTPUTF8");
        if (caps.Dsn)
        {
            if (message.Ret != DsnReturn.Default)
                sb.Append(" RET=").Append(message.Ret == DsnReturn.Full ? "FULL" : "HDRS");
            if (!string.IsNullOrEmpty(message.EnvelopeId))
                sb.Append(" ENVID=").Append(Xtext.Encode(message.EnvelopeId));
        }
        return sb.ToString();
    }

    private static string RcptCommand(EnvelopeRecipient recipient, SmtpCapabilities caps)
    {
        var sb = new StringBuilder("RCPT TO:<").Append(recipient.Address).Append('>');
        if (caps.Dsn)
        {
            if (recipient.Notify != DsnNotify.Default)
                sb.Append(" NOTIFY=").Append(NotifyValue(recipient.Notify));
            if (!string.IsNullOrEmpty(recipient.OriginalRecipient))
                sb.Append(" ORCPT=").Append(Xtext.EncodeOrcpt(recipient.OriginalRecipient));
        }
        return sb.ToString();
    }

    private static string NotifyValue(DsnNotify notify)
    {
        if ((notify & DsnNotify.Never) != 0)
            return "NEVER";
        var parts = new List<string>(3);
        if ((notify & DsnNotify.Success) != 0)
            parts.Add("SUCCESS");
        if ((notify & DsnNotify.Failure) != 0)
            parts.Add("FAILURE");
        if ((notify & DsnNotify.Delay) != 0)
            parts.Add("DELAY");
        return string.Join(',', parts);
    }

    /// <summary>
    /// PIPELINING (RFC 2920): commands go in batches of at most <see cref="SmtpClientOptions.MaxPipelinedCommands"/>,
    /// each batch in one write, then its replies are read in order. Returns the 421 that ended the session, if one
    /// did; the replies it left unread are that 421.
    /// </summary>
    private async Task<SmtpReply?> PipelineAsync(List<string> commands, SmtpReply?[] replies, CancellationToken ct)
    {
        SmtpReply? closing = null;
        for (var start = 0; start < commands.Count && closing is null; start += _options.MaxPipelinedCommands)
        {
            var end = Math.Min(commands.Count, start + _options.MaxPipelinedCommands);
            for (var i = start; i < end; i++)
            {
                _transcript.Client(commands[i]);
                Write(commands[i]);
            }
            await FlushAsync(StageOf(commands, start), _options.CommandTimeout, ct);
            for (var i = start; i < end && closing is null; i++)
            {
                replies[i] = await ReadReplyAsync(TimeoutOf(commands, i), StageOf(commands, i), ct);
                if (replies[i]!.Code == 421)
                    closing = replies[i];
            }
        }
        if (closing is not null)
            for (var i = 0; i < replies.Length; i++)
                replies[i] ??= closing;
        return closing;
    }

    /// <summary>Without PIPELINING: one command, one reply; no RCPT after a refused MAIL, no DATA without an accepted RCPT.</summary>
    private async Task<SmtpReply?> LockstepAsync(List<string> commands, SmtpReply?[] replies, int recipients, CancellationToken ct)
    {
        var mail = replies[0] = await CommandAsync(commands[0], SmtpClientStage.Mail, _options.CommandTimeout, ct);
        if (mail.Code == 421)
        {
            Array.Fill(replies, mail);
            return mail;
        }
        if (!IsSuccess(mail))
            return null;
        var accepted = false;
        for (var i = 1; i <= recipients; i++)
        {
            var reply = replies[i] = await CommandAsync(commands[i], SmtpClientStage.Rcpt, _options.CommandTimeout, ct);
            if (reply.Code == 421)
            {
                for (var j = i; j < replies.Length; j++)
                    replies[j] = reply;
                return reply;
            }
            accepted |= IsSuccess(reply);
        }
        if (accepted && commands.Count > recipients + 1)
        {
            var data = replies[^1] = await CommandAsync("DATA", SmtpClientStage.Data, _options.DataInitiationTimeout, ct);
            if (data.Code == 421)
                return data;
        }
        return null;
    }

    private static SmtpClientStage StageOf(List<string> commands, int i) =>
        i == 0 ? SmtpClientStage.Mail : commands[i] == "DATA" ? SmtpClientStage.Data : SmtpClientStage.Rcpt;

    private TimeSpan TimeoutOf(List<string> commands, int i) =>
        commands[i] == "DATA" ? _options.DataInitiationTimeout : _options.CommandTimeout;

    private async Task<(SmtpReply Final, long Length)> SendDataAsync(Func<Stream, CancellationToken, Task> writeContent, CancellationToken ct)
    {
        await using var stream = new DotStuffingStream(_options.ChunkSize,
            bytes => WriteAsync(bytes, SmtpClientStage.Content, _options.DataBlockTimeout, ct));
        await WriteContentAsync(writeContent, stream, ct);
        await stream.CompleteAsync();
        _transcript.Event($"{stream.ContentLength.ToString(CultureInfo.InvariantCulture)} octets of content sent");
        _transcript.Client(".");
        var final = await ReadReplyAsync(_options.DataTerminationTimeout, SmtpClientStage.EndOfData, ct, mayHaveBeenDelivered: true);
        return (final, stream.ContentLength);
    }

    private async Task<(SmtpReply Final, long Length)> SendBdatAsync(Func<Stream, CancellationToken, Task> writeContent, CancellationToken ct)
    {
        var window = Capabilities.Pipelining && _options.UsePipelining ? _options.MaxChunksInFlight : 1;
        await using var stream = new BdatStream(_options.ChunkSize, window,
            (bytes, command) =>
            {
                _transcript.Client(command);
                return WriteAsync(bytes, SmtpClientStage.Content, _options.DataBlockTimeout, ct);
            },
            () => new ValueTask<SmtpReply>(ReadReplyAsync(_options.DataBlockTimeout, SmtpClientStage.Content, ct)));
        try
        {
            await WriteContentAsync(writeContent, stream, ct);
        }
        catch (Exception) when (stream.Failure is not null && _failure is null)
        {
            // A chunk was refused: the writes stopped; the refusal is the transaction's answer.
        }
        var final = await stream.CompleteAsync(() =>
            new ValueTask<SmtpReply>(ReadReplyAsync(_options.DataTerminationTimeout, SmtpClientStage.EndOfData, ct, mayHaveBeenDelivered: true)));
        _transcript.Event($"{stream.ContentLength.ToString(CultureInfo.InvariantCulture)} octets of content sent");
        return (final, stream.ContentLength);
    }

    /// <summary>Runs the content source. If it fails, the data cannot be ended cleanly: the connection is given up.</summary>
    private async Task WriteContentAsync(Func<Stream, CancellationToken, Task> writeContent, Stream stream, CancellationToken ct)
    {
        try
        {
            await writeContent(stream, ct);
        }
        catch (Exception e) when (e is not SmtpClientException)
        {
            if (_failure is not null)
                throw _failure; // our own I/O failure, wrapped or rethrown by the content source
            if (stream is BdatStream { Failure: not null })
                throw;
            _broken = true;
            _transcript.Event($"content source failed: {e.GetType().Name}");
            throw;
        }
    }
}
