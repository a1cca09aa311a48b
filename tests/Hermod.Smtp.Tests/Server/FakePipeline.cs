using System.Collections.Concurrent;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Smtp.Tests.Server;

/// <summary>
/// A policy pipeline for the session tests: it accepts everything — one delivery per recipient, the sender as given —
/// unless a test sets a refusal for a stage; it keeps the sessions it was shown at each MAIL.
/// </summary>
internal sealed class FakePipeline : IMessagePipeline
{
    private readonly ConcurrentQueue<SessionInfo> _sessions = new();

    /// <summary>The connection stage's answer.</summary>
    public ConnectDecision Connect { get; set; } = ConnectDecision.Accept;

    /// <summary>MAIL: the refusal for a sender, or null.</summary>
    public Func<string, SmtpReply?> Mail { get; set; } = _ => null;

    /// <summary>RCPT: the refusal for a recipient, or null.</summary>
    public Func<EnvelopeRecipient, SmtpReply?> Rcpt { get; set; } = _ => null;

    /// <summary>The body stage's answer.</summary>
    public BodyDecision Body { get; set; } = BodyDecision.Unchanged;

    /// <summary>The body stage drops every recipient (as a discarding configuration does).</summary>
    public bool DiscardAll { get; set; }

    /// <summary>What the body stage will add, known before the body (null: it may still decide).</summary>
    public string? FieldsBeforeBody { get; set; } = "";

    public IReadOnlyList<IStreamProcessor> Processors { get; set; } = [];

    /// <summary>The session as each transaction began (at MAIL).</summary>
    public IReadOnlyList<SessionInfo> Sessions => [.. _sessions];

    public ValueTask<ConnectDecision> ConnectAsync(SessionInfo session, CancellationToken cancellationToken) => ValueTask.FromResult(Connect);

    public IPipelineTransaction Begin(SessionInfo session, ConnectDecision connection)
    {
        _sessions.Enqueue(session);
        return new Transaction(this);
    }

    private sealed class Transaction(FakePipeline pipeline) : IPipelineTransaction
    {
        private readonly List<EnvelopeRecipient> _recipients = [];

        public string Sender { get; private set; } = "";

        public IReadOnlyList<EnvelopeRecipient> Recipients => _recipients;

        public string? FieldsBeforeBody => pipeline.FieldsBeforeBody;

        public ValueTask<SmtpReply?> MailAsync(string sender, CancellationToken cancellationToken)
        {
            Sender = sender;
            return ValueTask.FromResult(pipeline.Mail(sender));
        }

        public ValueTask<SmtpReply?> RcptAsync(EnvelopeRecipient recipient, CancellationToken cancellationToken)
        {
            var refusal = pipeline.Rcpt(recipient);
            if (refusal is null)
                _recipients.Add(recipient);
            return ValueTask.FromResult(refusal);
        }

        public void DropRecipientsFrom(int index) => _recipients.RemoveRange(index, _recipients.Count - index);

        public ValueTask<BodyDecision> BodyAsync(IBlobWriter body, CancellationToken cancellationToken)
        {
            if (pipeline.DiscardAll)
                _recipients.Clear();
            return ValueTask.FromResult(pipeline.Body);
        }
    }
}
