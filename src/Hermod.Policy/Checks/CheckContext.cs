using System.Net;

namespace Hermod.Policy.Checks;

/// <summary>What checks see of a session and its transaction.</summary>
public sealed class CheckContext
{
    public required string Listener { get; init; }
    public required IPAddress ClientAddress { get; init; }
    public string Helo { get; init; } = "";
    public string? AuthUser { get; init; }
    public bool Tls { get; init; }
    public string? Sender { get; init; }
    /// <summary>At the RCPT stage: the recipient being checked.</summary>
    public string? Recipient { get; init; }
    public IReadOnlyList<string> Recipients { get; init; } = [];
    /// <summary>At the BODY stage: opens the stored message for reading (each call a new stream).</summary>
    public Func<CancellationToken, Task<Stream>>? OpenBody { get; init; }
}
