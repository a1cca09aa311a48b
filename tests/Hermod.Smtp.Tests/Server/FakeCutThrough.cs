using System.Collections.Concurrent;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Smtp.Tests.Server;

/// <summary>
/// Cut-through for the session tests: next hops that answer as a test says — a refusal per recipient, an outcome at
/// the end of data — and keep what they were handed, so a test sees what the session told them and when it let go.
/// </summary>
internal sealed class FakeCutThrough : ICutThrough
{
    private readonly ConcurrentQueue<FakeUpstream> _transactions = new();

    /// <summary>RCPT: the next hop's refusal for a recipient, or null.</summary>
    public Func<EnvelopeRecipient, SmtpReply?> Rcpt { get; set; } = _ => null;

    /// <summary>The end of data: by default every next hop delivered, with its own 250.</summary>
    public CutThroughOutcome Outcome { get; set; } = new(null, null, new SmtpReply(250, new(2, 0, 0), "upstream took it"));

    /// <summary>The transactions begun, in order.</summary>
    public IReadOnlyList<FakeUpstream> Transactions => [.. _transactions];

    public ICutThroughTransaction? Begin(CutThroughStart start)
    {
        var transaction = new FakeUpstream(this, start);
        _transactions.Enqueue(transaction);
        return transaction;
    }
}
