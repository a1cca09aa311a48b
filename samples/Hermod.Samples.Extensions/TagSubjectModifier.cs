using Hermod.Core.Configuration;
using Hermod.Policy.Headers;
using Hermod.Policy.Modifiers;

namespace Hermod.Samples.Extensions;

/// <summary>
/// Header stage: prefixes the Subject with "[tag] ". Option: <c>tag</c> (required; 1 to 64 printable ASCII
/// characters, one line). A message without a Subject is left alone; one already tagged is not tagged twice.
/// </summary>
/// <remarks>
/// The tagged field replaces the old one where it stands (<see cref="MessageHeader.Replace"/>). Only the first line of
/// the original field changes; its folding and bytes are kept as received.
/// </remarks>
public sealed class TagSubjectModifier : IModifier
{
    private const int MaxTagLength = 64;

    /// <summary>RFC 5322 section 2.1.1: a line is at most 998 octets before its CRLF.</summary>
    private const int MaxLineOctets = 998;

    private readonly string _tag;

    /// <summary>Reads and validates the options; problems go to <paramref name="config"/>'s errors ("key: reason").</summary>
    public TagSubjectModifier(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known("tag");
        var errors = config.Errors.Count;
        var tag = config.String("tag");
        if (tag is null)
        {
            if (config.Errors.Count == errors)
                config.Error("tag", "is required, e.g. tag: external");
        }
        else if (tag.AsSpan().IndexOfAny('\r', '\n') >= 0)
            config.Error("tag", "must be one line: CR and LF are not allowed");
        else if (tag.Length is 0 or > MaxTagLength)
            config.Error("tag", $"must be 1 to {MaxTagLength} characters");
        else if (tag.Any(c => c is < ' ' or > '~'))
            config.Error("tag", "must be printable ASCII (other text would need RFC 2047 encoding)");
        _tag = $"[{tag}]";
    }

    /// <summary>The name configuration gave it, e.g. "tag_subject".</summary>
    public string Name => "tag_subject";

    public ModifierStages Stages => ModifierStages.Header;

    public ValueTask ModifyHeaderAsync(MessageHeader header, ModifierContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(header);
        HeaderField? subject = null;
        foreach (var field in header.Fields)
            if (field.Name.Equals("Subject", StringComparison.OrdinalIgnoreCase))
            {
                subject = field;
                break;
            }
        if (subject is null || subject.Value.StartsWith(_tag, StringComparison.OrdinalIgnoreCase))
            return ValueTask.CompletedTask;

        var raw = subject.Raw;
        var colon = raw.IndexOf(':', StringComparison.Ordinal);
        var rest = raw[(colon + 1)..].TrimStart(' ', '\t'); // the value as received, folding and final CRLF included
        var firstLine = rest.IndexOf("\r\n", StringComparison.Ordinal);
        var tagged = colon + 2 + _tag.Length + 1 + firstLine <= MaxLineOctets
            ? $"{raw[..colon]}: {_tag} {rest}"
            : $"{raw[..colon]}: {_tag}\r\n {rest}"; // too long for one line: the old value starts a folded line
        header.Replace(subject, new HeaderField(subject.Name, tagged));
        return ValueTask.CompletedTask;
    }
}
