using Hermod.Core.Smtp;

namespace Hermod.Policy.Checks;

/// <summary>What a check decided.</summary>
public enum CheckAction
{
    /// <summary>No objection (headers may still be added).</summary>
    Accept,
    /// <summary>Refuse with a 5xx.</summary>
    Reject,
    /// <summary>Refuse with a 4xx: try again later.</summary>
    TempFail,
    /// <summary>Accept, but hold the message for an operator instead of delivering it.</summary>
    Quarantine,
}

/// <summary>
/// A check's verdict as a value: an action, the reply the client gets for a refusal (<see cref="CheckAction.Reject"/>,
/// <see cref="CheckAction.TempFail"/>: required), why a message is quarantined, and header fields to add (e.g.
/// Authentication-Results).
/// </summary>
public sealed record CheckResult(CheckAction Action, SmtpReply? Reply = null, string? QuarantineReason = null, IReadOnlyList<KeyValuePair<string, string>>? Headers = null)
{
    /// <summary>The refusal the client gets; null unless the check refuses.</summary>
    public SmtpReply? Reply { get; init; } = Action is CheckAction.Reject or CheckAction.TempFail && Reply is null
        ? throw new ArgumentException($"A {Action} result needs the reply the client gets", nameof(Reply))
        : Reply;

    public static readonly CheckResult Accept = new(CheckAction.Accept);

    /// <summary>Refuses for good: <paramref name="code"/> with <paramref name="enhanced"/> (default 550 5.7.1).</summary>
    public static CheckResult Reject(string text, int code = 550, EnhancedStatusCode? enhanced = null) =>
        new(CheckAction.Reject, new SmtpReply(code, enhanced ?? new(5, 7, 1), text));

    /// <summary>Refuses for now: <paramref name="code"/> with <paramref name="enhanced"/> (default 451 4.7.1).</summary>
    public static CheckResult TempFail(string text, int code = 451, EnhancedStatusCode? enhanced = null) =>
        new(CheckAction.TempFail, new SmtpReply(code, enhanced ?? new(4, 7, 1), text));

    public static CheckResult Quarantine(string reason) => new(CheckAction.Quarantine, QuarantineReason: reason);

    public static CheckResult WithHeader(string name, string value) => new(CheckAction.Accept, Headers: [new(name, value)]);

    public bool Refuses => Action is CheckAction.Reject or CheckAction.TempFail;
}
