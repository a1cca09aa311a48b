using System.Net;

namespace Hermod.Policy.Modifiers;

/// <summary>What modifiers see of a session and its transaction.</summary>
public sealed class ModifierContext
{
    public required string Listener { get; init; }
    public required IPAddress ClientAddress { get; init; }
    public string? AuthUser { get; init; }
    /// <summary>The envelope sender after the sender rewrites ("" for the null sender).</summary>
    public string Sender { get; init; } = "";
    /// <summary>The final recipients (after rewrites and alias expansion); empty before the body stage.</summary>
    public IReadOnlyList<string> Recipients { get; init; } = [];
    /// <summary>At the header stage: opens the body (the content after the header block and its empty line), each call a new stream.</summary>
    public Func<CancellationToken, Task<Stream>>? OpenBody { get; init; }
}
