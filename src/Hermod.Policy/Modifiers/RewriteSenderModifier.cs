using Hermod.Core.Configuration;

namespace Hermod.Policy.Modifiers;

/// <summary>
/// <c>rewrite_sender { pattern, replacement }</c>: rewrites the envelope sender with a regular expression, e.g.
/// pattern <c>^(.*)@old\.test$</c> and replacement <c>$1@new.test</c>. The null sender stays as it is; see
/// <see cref="AddressRewriter"/> for the matching rules.
/// </summary>
public sealed class RewriteSenderModifier : IModifier
{
    private readonly AddressRewriter _rewriter;

    public RewriteSenderModifier(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _rewriter = new AddressRewriter(config);
    }

    public string Name => "rewrite_sender";

    public ModifierStages Stages => ModifierStages.Sender;

    public ValueTask<string> RewriteSenderAsync(string sender, ModifierContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sender);
        return ValueTask.FromResult(_rewriter.Rewrite(sender));
    }
}
