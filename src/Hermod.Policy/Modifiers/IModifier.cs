using Hermod.Policy.Headers;

namespace Hermod.Policy.Modifiers;

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
