namespace Hermod.Policy.Pipeline;

/// <summary>When in a transaction a check runs.</summary>
public enum CheckStage { Connection, Mail, Rcpt, Body }

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

/// <summary>A check's verdict as a value: an action, the reply for a refusal, and header fields to add (e.g. Authentication-Results).</summary>
public sealed record CheckResult(CheckAction Action, int Code = 0, string Enhanced = "", string Text = "", IReadOnlyList<KeyValuePair<string, string>>? Headers = null)
{
    public static readonly CheckResult Accept = new(CheckAction.Accept);

    public static CheckResult Reject(string text, int code = 550, string enhanced = "5.7.1") => new(CheckAction.Reject, code, enhanced, text);

    public static CheckResult TempFail(string text, int code = 451, string enhanced = "4.7.1") => new(CheckAction.TempFail, code, enhanced, text);

    public static CheckResult Quarantine(string reason) => new(CheckAction.Quarantine, 0, "", reason);

    public static CheckResult WithHeader(string name, string value) => new(CheckAction.Accept, Headers: [new(name, value)]);

    public bool Refuses => Action is CheckAction.Reject or CheckAction.TempFail;
}

/// <summary>The outcome of a stage: the refusal that ended it (if any), the headers the checks added, and whether to quarantine.</summary>
public sealed record StageOutcome(CheckResult? Refusal, IReadOnlyList<KeyValuePair<string, string>> Headers, string? QuarantineReason)
{
    public bool Refused => Refusal is not null;
}
