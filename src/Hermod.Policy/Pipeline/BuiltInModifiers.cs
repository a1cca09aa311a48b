using Hermod.Core.Extensions;
using Hermod.Policy.Modifiers;

namespace Hermod.Policy.Pipeline;

/// <summary>Registers the built-in modifiers (options in config/hermod.reference.yaml).</summary>
public static class BuiltInModifiers
{
    public static void Register(ComponentRegistry<IModifier> registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.Add("add_header", c => new AddHeaderModifier(c.Config));
        registry.Add("remove_header", c => new RemoveHeaderModifier(c.Config));
        registry.Add("rewrite_sender", c => new RewriteSenderModifier(c.Config));
        registry.Add("rewrite_recipient", c => new RewriteRecipientModifier(c.Config));
        registry.Add("remove_plus_address", c => new RemovePlusAddressModifier(c.Config));
        registry.Add("alias", c => new AliasModifier(c.Config));
        registry.Add("dkim_sign", c => new DkimSignModifier(c.Config, (TimeProvider?)c.Services.GetService(typeof(TimeProvider)) ?? TimeProvider.System));
    }
}
