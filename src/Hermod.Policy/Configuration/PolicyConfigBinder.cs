using Hermod.Core.Configuration;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Policy.Configuration;

/// <summary>
/// Reads pipelines: into <see cref="PolicyOptions"/>; problems go to the section's errors. Each check, modifier and
/// stream processor gets its own section (with errors of its own), read when the component is built.
/// </summary>
public static class PolicyConfigBinder
{
    /// <param name="root">The whole configuration.</param>
    /// <param name="targets">The targets defined under targets: (deliver_to may name those and the built-in ones).</param>
    public static PolicyOptions Bind(ConfigSection root, IReadOnlyCollection<string> targets)
    {
        var o = new PolicyOptions();
        if (root.Section("pipelines") is not { } pipelines)
            return o;
        foreach (var (name, node) in pipelines.Entries)
        {
            if (!ConfigNames.IsName(name))
                pipelines.Error(node, name, "a pipeline name is letters, digits, '_' and '-'");
            if (pipelines.SectionOf(node, name) is { } block)
                o.Pipelines[name] = BindBlock(block, BlockLevel.Root, targets);
        }
        return o;
    }

    /// <summary>DestinationDefault: the default beside destination blocks — it matches what they do not, so it has no match of its own.</summary>
    private enum BlockLevel { Root, Source, Destination, SourceDefault, DestinationDefault }

    /// <summary>A pipeline or dispatch block: checks, modifiers, and one way to end (see <see cref="DispatchBlockOptions"/>).</summary>
    private static DispatchBlockOptions BindBlock(ConfigSection section, BlockLevel level, IReadOnlyCollection<string> targets)
    {
        var block = new DispatchBlockOptions { Key = section.Key };
        var keys = new List<string> { "checks", "modifiers", "deliver_to", "reject" };
        if (level is BlockLevel.Source or BlockLevel.Destination)
            keys.AddRange(["match", "table"]);
        if (level == BlockLevel.Source)
            keys.Add("users");
        if (level == BlockLevel.Root)
            keys.AddRange(["source", "processors"]);
        if (level is not (BlockLevel.Destination or BlockLevel.DestinationDefault))
            keys.AddRange(["destination", "default"]);
        section.Known([.. keys]);

        block.Checks = Components(section, "checks", ComponentSort.Check);
        block.Modifiers = Components(section, "modifiers", ComponentSort.Modifier);
        if (level == BlockLevel.Root && section.Node("processors") is not null)
        {
            block.Processors = Components(section, "processors", ComponentSort.Processor);
            if (!block.Processors.Any(p => p.Kind == "trace_header"))
                section.ErrorAtSection("processors", "must include trace_header (RFC 5321 4.4: every hop adds a Received header)");
        }
        block.Match = section.Strings("match") ?? [];
        foreach (var entry in block.Match.Where(e => !IsAddressOrDomain(e)))
            section.ErrorAtSection("match", $"'{entry}' is not an address or a domain");
        block.Table = section.String("table");
        if (block.Table is not null && !File.Exists(block.Table))
            section.ErrorAtSection("table", $"'{block.Table}' does not exist");
        block.Users = section.Strings("users") ?? [];
        if (level is BlockLevel.Source or BlockLevel.Destination && block.Match.Count == 0 && block.Table is null && block.Users.Count == 0)
            section.Error(null, level == BlockLevel.Source ? "a source block needs match, users or table" : "a destination block needs match or table");

        block.Source = Blocks(section, "source", BlockLevel.Source, targets);
        block.Destination = Blocks(section, "destination", BlockLevel.Destination, targets);
        if (section.Section("default") is { } defaultSection)
            block.Default = BindBlock(defaultSection,
                block.Source.Count > 0 || level == BlockLevel.Root && block.Destination.Count == 0 ? BlockLevel.SourceDefault : BlockLevel.DestinationDefault, targets);

        block.DeliverTo = section.Strings("deliver_to");
        foreach (var target in block.DeliverTo ?? [])
            if (!RouteKey.BuiltInTargets.Contains(target) && !targets.Contains(target))
                section.ErrorAtSection("deliver_to", $"no target '{target}' (built in: {string.Join(", ", RouteKey.BuiltInTargets)}; others are defined under targets:)");
        if (block.DeliverTo is { Count: 0 })
            section.ErrorAtSection("deliver_to", "names no target");
        if (section.Section("reject") is { } reject)
            block.Reject = BindReject(reject);

        var endings = (block.DeliverTo is not null ? 1 : 0) + (block.Reject is not null ? 1 : 0) + (block.Source.Count > 0 || block.Destination.Count > 0 ? 1 : 0);
        if (block.Source.Count > 0 && block.Destination.Count > 0)
            section.Error(null, "has both source and destination blocks: put destination blocks inside the source blocks (and default)");
        else if (endings > 1)
            section.Error(null, "ends in more than one way: use one of deliver_to, reject, or source/destination blocks with a default");
        else if (block.Source.Count + block.Destination.Count > 0 && block.Default is null)
            section.Error(null, "has source or destination blocks but no default (where does the rest go?)");
        else if (block.Default is not null && block.Source.Count + block.Destination.Count == 0)
            section.ErrorAtSection("default", "only goes with source or destination blocks");
        else if (endings == 0 && level != BlockLevel.Root)
            section.Error(null, "needs deliver_to, reject, or destination blocks with a default");
        return block;
    }

    /// <summary>source: or destination: — a list of blocks.</summary>
    private static List<DispatchBlockOptions> Blocks(ConfigSection section, string key, BlockLevel level, IReadOnlyCollection<string> targets)
    {
        var blocks = new List<DispatchBlockOptions>();
        switch (section.Node(key))
        {
            case null:
                break;
            case ConfigList list:
                for (var i = 0; i < list.Items.Count; i++)
                    if (section.SectionOf(list.Items[i], $"{key}[{i}]") is { } item)
                        blocks.Add(BindBlock(item, level, targets));
                break;
            case var notList:
                section.Error(notList, key, $"must be a list of {key} blocks");
                break;
        }
        return blocks;
    }

    /// <summary>reject: { code, enhanced, text }: the refusal a block ends in.</summary>
    private static SmtpReply BindReject(ConfigSection reject)
    {
        reject.Known("code", "enhanced", "text");
        var code = reject.Int("code", 400, 599) ?? 550;
        var enhanced = reject.String("enhanced");
        var status = code >= 500 ? new EnhancedStatusCode(5, 7, 1) : new EnhancedStatusCode(4, 7, 1);
        if (enhanced is not null && (!EnhancedStatusCode.TryParse(enhanced, out status) || status.Class != code / 100))
            reject.ErrorAtSection("enhanced", $"'{enhanced}' is not an enhanced status code of the same class as {code}");
        var text = reject.String("text") ?? "Message refused";
        if (text.Any(c => c is < ' ' or > '~'))
            reject.ErrorAtSection("text", "must be printable ASCII on one line");
        return new SmtpReply(code, status, text);
    }

    private static bool IsAddressOrDomain(string entry)
    {
        var at = entry.LastIndexOf('@');
        return at < 0 ? ConfigNames.IsHostname(entry) : at > 0 && ConfigNames.IsHostname(entry[(at + 1)..]) && !entry.Any(char.IsWhiteSpace);
    }

    private enum ComponentSort { Check, Modifier, Processor }

    /// <summary>
    /// checks: [ spf, { dnsbl: { zones: [...], timeout: 2s } } ]: each item names a component and holds its options;
    /// checks and modifiers may have a timeout, checks also on_timeout (those keys are Hermod's, not the component's).
    /// </summary>
    private static List<ComponentSpec> Components(ConfigSection block, string key, ComponentSort sort)
    {
        var result = new List<ComponentSpec>();
        switch (block.Node(key))
        {
            case null:
                return result;
            case ConfigList list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var itemKey = $"{key}[{i}]";
                    switch (list.Items[i])
                    {
                        case ConfigScalar { Value: { } name }:
                            result.Add(new ComponentSpec { Kind = name, Section = block.Separate(new ConfigMap { Origin = list.Items[i].Origin }, $"{itemKey}.{name}") });
                            break;
                        case ConfigMap { Entries.Count: 1 } item:
                            var (kind, node) = item.Entries.First();
                            var sectionKey = $"{itemKey}.{kind}";
                            var map = node switch
                            {
                                ConfigMap m => m,
                                ConfigScalar { Value: null } => new ConfigMap { Origin = node.Origin },
                                _ => null,
                            };
                            if (map is null)
                            {
                                block.Error(node, sectionKey, "must be a mapping of options (or nothing)");
                                break;
                            }
                            var hermods = block.SectionOf(map, sectionKey)!; // the keys read here, before the component gets the rest
                            TimeSpan? timeout = null;
                            string? onTimeout = null;
                            if (sort != ComponentSort.Processor)
                            {
                                timeout = hermods.Duration("timeout");
                                hermods.Remove("timeout");
                            }
                            if (sort == ComponentSort.Check)
                            {
                                onTimeout = hermods.String("on_timeout");
                                if (onTimeout is not null and not ("tempfail" or "reject" or "accept"))
                                    hermods.ErrorAtSection("on_timeout", $"'{onTimeout}' is not one of tempfail, reject, accept");
                                hermods.Remove("on_timeout");
                            }
                            result.Add(new ComponentSpec { Kind = kind, Section = block.Separate(map, sectionKey), Timeout = timeout, OnTimeout = onTimeout });
                            break;
                        default:
                            block.Error(list.Items[i], itemKey, "must be a name, or a mapping of one name to its options");
                            break;
                    }
                }
                return result;
            default:
                block.ErrorAtSection(key, "must be a list");
                return result;
        }
    }
}
