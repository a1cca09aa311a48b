using System.Net;

namespace Hermod.Core.Configuration;

/// <summary>
/// The configuration section of one pipeline component (a check, modifier, stream processor or target), as the
/// component reads it. Every getter validates and records problems as "file:line: key: reason"; a component built
/// from a section with <see cref="Errors"/> is never used. Keys the component does not read are reported as
/// unknown by <see cref="Known"/>.
/// </summary>
public sealed class ComponentConfig
{
    private readonly ConfigBinder _binder;
    private readonly ConfigMap _map;

    internal ComponentConfig(string kind, string key, ConfigMap map, string source)
        : this(kind, key, map, new ConfigBinder(source))
    {
    }

    private ComponentConfig(string kind, string key, ConfigMap map, ConfigBinder binder)
    {
        Kind = kind;
        Key = key;
        _map = map;
        _binder = binder;
    }

    /// <summary>An empty section (a component configured without options).</summary>
    public static ComponentConfig Empty(string kind, string key) => new(kind, key, new ConfigMap(), "(defaults)");

    /// <summary>A section from YAML text (the options mapping of one component): for tests and tools.</summary>
    public static ComponentConfig Parse(string kind, string yaml) => new(kind, kind, ConfigLoader.ParseYaml(yaml, kind), kind);

    /// <summary>The registered name the component was configured by, e.g. "spf".</summary>
    public string Kind { get; }

    /// <summary>The key path of the section, e.g. "pipelines.inbound.checks[0].spf".</summary>
    public string Key { get; }

    /// <summary>Where the section starts: "hermod.yaml:12".</summary>
    public string Origin => _map.Origin;

    public IReadOnlyList<string> Errors => _binder.Errors;

    public bool Has(string key) => _map.Entries.ContainsKey(key);

    /// <summary>Reports every key of the section not in <paramref name="keys"/> as unknown.</summary>
    public void Known(params string[] keys) => _binder.Known(_map, Key, keys);

    /// <summary>Records a problem with <paramref name="key"/> (null: the section as a whole).</summary>
    public void Error(string? key, string reason)
    {
        var node = key is not null && _map.Entries.TryGetValue(key, out var n) ? n : _map;
        _binder.Error(node, key is null ? Key : ConfigBinder.Join(Key, key), reason);
    }

    public string? String(string key) => _binder.String(_map, Key, key);

    public string RequiredString(string key)
    {
        var value = String(key);
        if (value is null)
            Error(key, "is required");
        return value ?? "";
    }

    public int? Int(string key, int min, int max) => _binder.Int(_map, Key, key, min, max);

    public long? Size(string key, long min, long max) => _binder.Size(_map, Key, key, min, max);

    public TimeSpan? Duration(string key) => _binder.Duration(_map, Key, key);

    public bool? Bool(string key) => _binder.Bool(_map, Key, key);

    public T? Enum<T>(string key) where T : struct, Enum => _binder.Enum<T>(_map, Key, key);

    public IPEndPoint? EndPoint(string key) => _binder.EndPoint(_map, Key, key);

    /// <summary>A list of values (also accepted: one comma-separated value).</summary>
    public List<string>? Strings(string key) => _binder.Strings(_map, Key, key);

    /// <summary>A mapping of names to single values, e.g. HTTP headers.</summary>
    public Dictionary<string, string>? Map(string key)
    {
        if (_binder.Map(_map, Key, key) is not { } map)
            return null;
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, node) in map.Entries)
            if (node is ConfigScalar { Value: { } value })
                result[name] = value;
            else
                _binder.Error(node, ConfigBinder.Join(ConfigBinder.Join(Key, key), name), "must be a single value");
        return result;
    }

    /// <summary>
    /// A list of mappings, e.g. <c>keys: [{ domain, selector, key }]</c>: each item as its own section keyed
    /// "&lt;Key&gt;.&lt;key&gt;[i]". The sections share this section's <see cref="Errors"/>, so problems found through them
    /// are reported with the component's. Items that are not mappings are errors and left out.
    /// </summary>
    public IReadOnlyList<ComponentConfig>? Sections(string key)
    {
        switch (ConfigBinder.Get(_map, key))
        {
            case null:
            case ConfigScalar { Value: null }:
                return null;
            case ConfigList list:
                var sections = new List<ComponentConfig>(list.Items.Count);
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var itemKey = $"{ConfigBinder.Join(Key, key)}[{i}]";
                    if (_binder.AsMap(list.Items[i], itemKey) is { } map)
                        sections.Add(new ComponentConfig(Kind, itemKey, map, _binder));
                }
                return sections;
            default:
                Error(key, "must be a list of mappings");
                return null;
        }
    }
}
