using Hermod.Core.Smtp;

namespace Hermod.Core.Pipeline;

/// <summary>
/// The policy pipeline of one listener (or of HTTP submission): checks, modifiers and dispatch. The SMTP server and
/// the HTTP APIs call it at each stage and pass its refusals (SMTP replies; the HTTP APIs make problem documents of
/// them) to the client as early as possible.
/// </summary>
public interface IMessagePipeline
{
    /// <summary>The connection stage: a refusal, or what its checks said (kept for every transaction of the session).</summary>
    ValueTask<ConnectDecision> ConnectAsync(SessionInfo session, CancellationToken cancellationToken);

    /// <summary>The stream processors every body passes through on its way to storage, in order.</summary>
    IReadOnlyList<IStreamProcessor> Processors { get; }

    /// <summary>Starts a transaction (at MAIL); <paramref name="connection"/> is what the connection stage said.</summary>
    IPipelineTransaction Begin(SessionInfo session, ConnectDecision connection);
}

/// <summary>The end of the connection stage: a refusal, or header fields for every message of the session and whether to quarantine them.</summary>
public sealed record ConnectDecision(SmtpReply? Refusal, string AddedFields = "", string? QuarantineReason = null)
{
    public static readonly ConnectDecision Accept = new(Refusal: null);
}
