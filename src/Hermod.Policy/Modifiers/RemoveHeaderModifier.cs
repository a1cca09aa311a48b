using Hermod.Core.Configuration;
using Hermod.Policy.Headers;

namespace Hermod.Policy.Modifiers;

/// <summary><c>remove_header { names: [X-Foo, ...] }</c>: removes every field with one of the names (case-insensitive).</summary>
public sealed class RemoveHeaderModifier : IModifier
{
    private readonly string[] _names;

    public RemoveHeaderModifier(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known("names");
        var errors = config.Errors.Count;
        var names = ModifierText.FieldNames(config, "names", allowEmpty: false);
        if (names is null && config.Errors.Count == errors)
            config.Error("names", "is required");
        _names = names is null ? [] : [.. names];
    }

    public string Name => "remove_header";

    public ModifierStages Stages => ModifierStages.Header;

    /// <summary>The names of the fields removed.</summary>
    public IReadOnlyList<string> Names => _names;

    public ValueTask ModifyHeaderAsync(MessageHeader header, ModifierContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(header);
        foreach (var name in _names)
            header.Remove(name);
        return ValueTask.CompletedTask;
    }
}
