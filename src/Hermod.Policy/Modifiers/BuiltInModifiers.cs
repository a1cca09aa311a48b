using Hermod.Core.Extensions;

namespace Hermod.Policy.Modifiers;

/// <summary>The built-in modifiers.</summary>
public static class BuiltInModifiers
{
    /// <summary>The built-in modifiers under their names (options in config/hermod.reference.yaml).</summary>
    public static IReadOnlyList<ComponentRegistration<IModifier>> All { get; } =
    [
        new("add_header", c => new AddHeaderModifier(c.Config)),
        new("remove_header", c => new RemoveHeaderModifier(c.Config)),
        new("rewrite_sender", c => new RewriteSenderModifier(c.Config)),
        new("rewrite_recipient", c => new RewriteRecipientModifier(c.Config)),
        new("remove_plus_address", c => new RemovePlusAddressModifier(c.Config)),
        new("alias", c => new AliasModifier(c.Config)),
        new("dkim_sign", c => new DkimSignModifier(c.Config, (TimeProvider?)c.Services.GetService(typeof(TimeProvider)) ?? TimeProvider.System)),
    ];
}
