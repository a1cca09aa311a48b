using System.Text;
using Hermod.Core.Configuration;
using Hermod.Policy.Headers;

namespace Hermod.Policy.Modifiers;

/// <summary><c>add_header { name, value }</c>: adds one field at the top of the header block.</summary>
public sealed class AddHeaderModifier : IModifier
{
    /// <summary>RFC 5322 section 2.1.1: a line is at most 998 octets before its CRLF.</summary>
    internal const int MaxLineOctets = 998;

    private readonly HeaderField _field;

    public AddHeaderModifier(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known("name", "value");
        var name = ModifierText.Required(config, "name") ?? "X-Invalid";
        var value = ModifierText.Required(config, "value") ?? "";
        if (!ModifierText.IsFieldName(name))
            config.Error("name", $"'{name}' is not a valid header field name (printable ASCII without spaces or ':')");
        if (value.AsSpan().IndexOfAny('\r', '\n') >= 0)
            config.Error("value", "must be one line: CR and LF are not allowed");
        else if (HasControl(value))
            config.Error("value", "must not contain control characters (other than tab)");
        else if (name.Length + 2 + Encoding.UTF8.GetByteCount(value) > MaxLineOctets)
            config.Error("value", $"is too long: the field must fit on one line of {MaxLineOctets} octets");
        _field = HeaderField.Create(name, value);
    }

    public string Name => "add_header";

    public ModifierStages Stages => ModifierStages.Header;

    /// <summary>The field added to each message.</summary>
    public HeaderField Field => _field;

    public ValueTask ModifyHeaderAsync(MessageHeader header, ModifierContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(header);
        header.Prepend(_field);
        return ValueTask.CompletedTask;
    }

    private static bool HasControl(string value)
    {
        foreach (var c in value)
            if (char.IsControl(c) && c != '\t')
                return true;
        return false;
    }
}
