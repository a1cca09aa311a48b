namespace Hermod.Policy.Modifiers;

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
