using Hermod.Core.Configuration;

namespace Hermod.Policy.Modifiers;

/// <summary>
/// <c>rewrite_recipient { pattern, replacement }</c>: rewrites each envelope recipient with a regular expression, e.g.
/// pattern <c>^(.*)@old\.test$</c> and replacement <c>$1@new.test</c>; see <see cref="AddressRewriter"/> for the matching rules.
/// </summary>
public sealed class RewriteRecipientModifier : IModifier
{
    private readonly AddressRewriter _rewriter;

    public RewriteRecipientModifier(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _rewriter = new AddressRewriter(config);
    }

    public string Name => "rewrite_recipient";

    public ModifierStages Stages => ModifierStages.Recipient;

    public ValueTask<IReadOnlyList<string>> RewriteRecipientAsync(string recipient, ModifierContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        return ValueTask.FromResult<IReadOnlyList<string>>([_rewriter.Rewrite(recipient)]);
    }
}
