using System.Net;

namespace Hermod.Policy.Pipeline;

/// <summary>Which parts of a transaction a modifier changes (the pipeline reads the header block only when one needs it).</summary>
[Flags]
public enum ModifierStages
{
    None = 0,
    /// <summary>MAIL: <see cref="IModifier.RewriteSenderAsync"/>.</summary>
    Sender = 1,
    /// <summary>RCPT: <see cref="IModifier.RewriteRecipientAsync"/>.</summary>
    Recipient = 2,
    /// <summary>After the body: <see cref="IModifier.ModifyHeaderAsync"/>.</summary>
    Header = 4,
}

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

/// <summary>
/// A modifier: built from configuration by name; modifiers run one after another in configuration order. Each
/// implements the stages it declares in <see cref="Stages"/>; the others keep their defaults (no change).
/// </summary>
public interface IModifier
{
    string Name { get; }

    ModifierStages Stages { get; }

    /// <summary>MAIL: returns the sender to use ("" is the null sender and is normally left alone).</summary>
    ValueTask<string> RewriteSenderAsync(string sender, ModifierContext context, CancellationToken cancellationToken) => ValueTask.FromResult(sender);

    /// <summary>RCPT: returns the addresses the recipient becomes: itself, another address, or several (an alias list). Never empty.</summary>
    ValueTask<IReadOnlyList<string>> RewriteRecipientAsync(string recipient, ModifierContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>([recipient]);

    /// <summary>After the body: edits the message's header block (add, remove, sign).</summary>
    ValueTask ModifyHeaderAsync(MessageHeader header, ModifierContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
