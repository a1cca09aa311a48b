using Hermod.Core.Configuration;
using Hermod.Core.Extensions;
using Hermod.Core.Pipeline;
using Hermod.Policy.Checks;
using Hermod.Policy.Configuration;
using Hermod.Policy.Dispatch;
using Hermod.Policy.Modifiers;
using Microsoft.Extensions.Logging;

namespace Hermod.Policy.Pipeline;

/// <summary>
/// Builds the configured pipelines: every check and modifier from its registered factory and its own section, the
/// dispatch tables with their table files. Every problem is collected ("file:line: key: reason") so one run reports
/// them all; <see cref="Build"/> throws <see cref="ConfigException"/> when there is any.
/// </summary>
/// <param name="maxHeaderBytes">The longest header block the pipelines read (the SMTP limit, smtp.limits.max_header_size).</param>
public sealed class PipelineBuilder(
    PolicyOptions options,
    int maxHeaderBytes,
    ComponentRegistry<ICheck> checks,
    ComponentRegistry<IModifier> modifiers,
    ComponentRegistry<IStreamProcessor> processors,
    IServiceProvider services,
    TimeProvider time,
    ILogger<MessagePipeline> logger)
{
    /// <summary>Default time a check may take.</summary>
    public static readonly TimeSpan DefaultCheckTimeout = TimeSpan.FromSeconds(30);

    private readonly List<string> _errors = [];
    private readonly Dictionary<IModifier, TimeSpan> _modifierTimeouts = [];
    private readonly List<object> _built = [];

    /// <summary>Every component built, for start/stop hooks and disposal.</summary>
    public IReadOnlyList<object> Components => _built;

    /// <summary>The pipelines by name.</summary>
    public IReadOnlyDictionary<string, MessagePipeline> Build(int maxWorkers)
    {
        ArgumentNullException.ThrowIfNull(options);
        var pool = new SemaphoreSlim(maxWorkers);
        var result = new Dictionary<string, MessagePipeline>(StringComparer.Ordinal);
        foreach (var (name, root) in options.Pipelines)
        {
            var chain = root.Processors?.Select(spec => Build(processors, spec, "stream processor")).OfType<IStreamProcessor>().ToList();
            result[name] = new MessagePipeline(name, Block(root, isDestination: false), pool, time, logger, maxHeaderBytes, chain, _modifierTimeouts);
        }
        if (_errors.Count > 0)
            throw new ConfigException(_errors);
        return result;
    }

    private DispatchBlock Block(DispatchBlockOptions o, bool isDestination)
    {
        var addresses = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var domains = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in o.Match)
            (entry.Contains('@', StringComparison.Ordinal) ? addresses : domains).Add(entry);
        if (o.Table is not null)
            ReadTable(o, addresses, domains);

        var blockModifiers = new List<IModifier>();
        foreach (var spec in o.Modifiers)
            if (Build(modifiers, spec, "modifier") is { } modifier)
            {
                if (isDestination && (modifier.Stages & ~ModifierStages.Recipient) != 0)
                    _errors.Add($"{spec.Section.Origin}: {spec.Section.Key}: a destination block may only rewrite recipients; '{spec.Kind}' changes the sender or the header, which all recipients share: put it in the pipeline or a source block");
                blockModifiers.Add(modifier);
                if (spec.Timeout is { } timeout)
                    _modifierTimeouts[modifier] = timeout;
            }
        var blockChecks = new List<ConfiguredCheck>();
        foreach (var spec in o.Checks)
            if (Build(checks, spec, "check") is { } check)
                blockChecks.Add(new ConfiguredCheck(check, spec.Timeout ?? DefaultCheckTimeout, spec.OnTimeout switch
                {
                    "accept" => CheckResult.Accept,
                    "reject" => CheckResult.Reject("A policy check did not finish in time", 550, new(5, 7, 1)),
                    _ => null,
                }));

        return new DispatchBlock
        {
            Key = o.Key,
            Addresses = addresses,
            Domains = domains,
            Users = new HashSet<string>(o.Users, StringComparer.Ordinal),
            Checks = blockChecks,
            Modifiers = blockModifiers,
            Source = [.. o.Source.Select(s => Block(s, isDestination: false))],
            Destination = [.. o.Destination.Select(d => Block(d, isDestination: true))],
            Default = o.Default is null ? null : Block(o.Default, isDestination: o.Source.Count == 0),
            DeliverTo = o.DeliverTo,
            Reject = o.Reject,
        };
    }

    private T? Build<T>(ComponentRegistry<T> registry, ComponentSpec spec, string sort) where T : class
    {
        var component = registry.Build(spec.Kind, spec.Kind, spec.Section, services, sort);
        _errors.AddRange(spec.Section.Errors);
        if (component is not null)
            _built.Add(component);
        return component;
    }

    /// <summary>A table file: one address or domain per line, '#' starts a comment.</summary>
    private void ReadTable(DispatchBlockOptions o, HashSet<string> addresses, HashSet<string> domains)
    {
        try
        {
            var number = 0;
            foreach (var raw in File.ReadLines(o.Table!))
            {
                number++;
                var hash = raw.IndexOf('#', StringComparison.Ordinal);
                var line = (hash >= 0 ? raw[..hash] : raw).Trim();
                if (line.Length == 0)
                    continue;
                var at = line.LastIndexOf('@');
                if (line.Any(char.IsWhiteSpace) || at == 0 || at == line.Length - 1 || Uri.CheckHostName(line[(at + 1)..]) != UriHostNameType.Dns)
                    _errors.Add($"{o.Table}:{number}: {o.Key}.table: '{line}' is not an address or a domain");
                else
                    (at > 0 ? addresses : domains).Add(line);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _errors.Add($"{o.Key}.table: cannot read '{o.Table}': {e.Message}");
        }
    }
}
