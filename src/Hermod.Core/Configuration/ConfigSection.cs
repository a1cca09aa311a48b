using System.Globalization;
using System.Net;

namespace Hermod.Core.Configuration;

/// <summary>
/// One mapping of the configuration as the code it configures reads it: an area's section (<c>smtp:</c>,
/// <c>delivery:</c>), a list item of one, or a pipeline component's options. Every getter validates and records a
/// problem as "file:line: key: reason" (the key path from the root), so one run reports all of them; a value that is
/// absent or invalid reads as null and the caller keeps its default. Keys nobody reads are reported by
/// <see cref="Known"/>: a typo must not pass silently. The sections reached from one another (<see cref="Section(string)"/>,
/// <see cref="Sections"/>, <see cref="SectionOf"/>) share one list of <see cref="Errors"/> and one of
/// <see cref="Warnings"/> (what still works but should change, such as a deprecated key); <see cref="Separate"/>
/// starts new ones.
/// </summary>
public sealed class ConfigSection
{
    private const string Defaults = "(defaults)";

    private readonly ConfigMap _map;
    private readonly List<string> _errors;
    private readonly List<string> _warnings;
    private readonly string _source;

    private ConfigSection(ConfigMap map, string key, List<string> errors, List<string> warnings, string source)
    {
        _map = map;
        Key = key;
        _errors = errors;
        _warnings = warnings;
        _source = source;
    }

    /// <summary>A section over <paramref name="map"/> with its own errors; <paramref name="source"/> names nodes that have no origin (the file, or "(defaults)").</summary>
    public static ConfigSection Create(ConfigMap map, string key, string source) => new(map, key, [], [], source);

    /// <summary>An empty section (configured without options).</summary>
    public static ConfigSection Empty(string key) => Create(new ConfigMap(), key, Defaults);

    /// <summary>A section from YAML text (the options mapping of one component): for tests and tools.</summary>
    public static ConfigSection Parse(string key, string yaml) => Create(ConfigFile.Parse(yaml, key), key, key);

    /// <summary>The key path of the section, e.g. "smtp.listeners[0]" or "pipelines.inbound.checks[0].spf"; "" for the root.</summary>
    public string Key { get; }

    /// <summary>Where the section starts: "hermod.yaml:12".</summary>
    public string Origin => _map.Origin;

    public IReadOnlyList<string> Errors => _errors;

    /// <summary>What works but should change, as "file:line: key: reason"; reported without stopping the start.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>The keys and values as written, for sections keyed by name (routes, targets, pipelines).</summary>
    public IReadOnlyDictionary<string, ConfigNode> Entries => _map.Entries;

    public bool Has(string key) => _map.Entries.ContainsKey(key);

    /// <summary>The value of <paramref name="key"/> as written; null when absent.</summary>
    public ConfigNode? Node(string key) => _map.Entries.GetValueOrDefault(key);

    /// <summary>Removes <paramref name="key"/>: a key read by the one who hands the section on, not by its reader.</summary>
    public void Remove(string key) => _map.Entries.Remove(key);

    /// <summary>Reports every key of the section not in <paramref name="keys"/> as unknown.</summary>
    public void Known(params string[] keys)
    {
        foreach (var (key, node) in _map.Entries)
            if (!keys.Contains(key, StringComparer.OrdinalIgnoreCase))
                Error(node, key, $"unknown key (known here: {string.Join(", ", keys)})");
    }

    /// <summary>Records a problem with <paramref name="key"/> at the line of its value (null: the section as a whole).</summary>
    public void Error(string? key, string reason)
    {
        if (key is null)
            Record(_map, Key, reason);
        else
            Error(Node(key) ?? _map, key, reason);
    }

    /// <summary>Records a problem with <paramref name="key"/> at the line where the section starts (a problem of the section as a whole, named by one of its keys).</summary>
    public void ErrorAtSection(string key, string reason) => Error(_map, key, reason);

    /// <summary>Records a problem at the line of <paramref name="node"/>, named by <paramref name="key"/> under this section.</summary>
    public void Error(ConfigNode node, string key, string reason) => Record(node, Join(Key, key), reason);

    /// <summary>Records a warning about <paramref name="key"/> at the line of its value.</summary>
    public void Warning(string key, string reason) =>
        _warnings.Add($"{((Node(key) ?? _map).Origin is { Length: > 0 } origin ? origin : _source)}: {Join(Key, key)}: {reason}");

    private void Record(ConfigNode node, string path, string reason) =>
        _errors.Add($"{(node.Origin.Length > 0 ? node.Origin : _source)}: {path}: {reason}");

    /// <summary>"a.b" from "a" and "b"; the root's key is "".</summary>
    public static string Join(string prefix, string key) => prefix.Length == 0 ? key : prefix + "." + key;

    /// <summary>The mapping under <paramref name="key"/>, sharing this section's errors; null when absent or not a mapping (an error).</summary>
    public ConfigSection? Section(string key) => Node(key) is { } node ? SectionOf(node, key) : null;

    /// <summary><paramref name="node"/>, found under this section at <paramref name="key"/>, as a section sharing its errors; null (an error) when it is not a mapping.</summary>
    public ConfigSection? SectionOf(ConfigNode node, string key)
    {
        if (node is ConfigMap map)
            return new ConfigSection(map, Join(Key, key), _errors, _warnings, _source);
        Error(node, key, "must be a mapping of keys");
        return null;
    }

    /// <summary><paramref name="map"/> at <paramref name="key"/> under this section, with errors of its own (a component's, reported when it is built).</summary>
    public ConfigSection Separate(ConfigMap map, string key) => new(map, Join(Key, key), [], [], _source);

    /// <summary>
    /// A list of mappings, e.g. <c>keys: [{ domain, selector, key }]</c>: each item as its own section keyed
    /// "&lt;Key&gt;.&lt;key&gt;[i]", sharing this section's errors. Items that are not mappings are errors and left out;
    /// a value that is not a list is reported with <paramref name="notAList"/>.
    /// </summary>
    public IReadOnlyList<ConfigSection>? Sections(string key, string notAList = "must be a list of mappings")
    {
        switch (Node(key))
        {
            case null:
            case ConfigScalar { Value: null }:
                return null;
            case ConfigList list:
                var sections = new List<ConfigSection>(list.Items.Count);
                for (var i = 0; i < list.Items.Count; i++)
                    if (SectionOf(list.Items[i], $"{key}[{i}]") is { } section)
                        sections.Add(section);
                return sections;
            case var other:
                Error(other, key, notAList);
                return null;
        }
    }

    private (ConfigScalar Node, string Text)? Scalar(string key)
    {
        switch (Node(key))
        {
            case null:
            case ConfigScalar { Value: null }:
                return null;
            case ConfigScalar s:
                return (s, s.Value);
            case var other:
                Error(other, key, "must be a single value");
                return null;
        }
    }

    public string? String(string key) => Scalar(key)?.Text;

    public string RequiredString(string key)
    {
        var value = String(key);
        if (value is null)
            Error(key, "is required");
        return value ?? "";
    }

    public int? Int(string key, int min, int max)
    {
        if (Scalar(key) is not var (node, text))
            return null;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
            return n;
        Error(node, key, $"'{text}' is not a whole number from {min} to {max}");
        return null;
    }

    public double? Number(string key, double min, double max)
    {
        if (Scalar(key) is not var (node, text))
            return null;
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
            return n;
        Error(node, key, $"'{text}' is not a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        return null;
    }

    /// <summary>Bytes, written with a unit or without (see <see cref="Units.TryParseSize"/>).</summary>
    public long? Size(string key, long min, long max)
    {
        if (Scalar(key) is not var (node, text))
            return null;
        if (Units.TryParseSize(text, out var n) && n >= min && n <= max)
            return n;
        Error(node, key, $"'{text}' is not a size from {min} to {max} bytes (examples: 1000, 64KB, 50MB)");
        return null;
    }

    /// <summary>A positive duration (see <see cref="Units.TryParseDuration"/>).</summary>
    public TimeSpan? Duration(string key)
    {
        if (Scalar(key) is not var (node, text))
            return null;
        if (Units.TryParseDuration(text, out var d) && d > TimeSpan.Zero)
            return d;
        Error(node, key, $"'{text}' is not a positive duration (examples: 500ms, 30s, 5m, 1h, 7d)");
        return null;
    }

    public bool? Bool(string key)
    {
        if (Scalar(key) is not var (node, text))
            return null;
        if (bool.TryParse(text, out var b))
            return b;
        Error(node, key, $"'{text}' is not true or false");
        return null;
    }

    /// <summary>One of <typeparamref name="T"/>'s names, in any case ("starttls"); numbers are refused.</summary>
    public T? Enum<T>(string key) where T : struct, Enum
    {
        if (Scalar(key) is not var (node, text))
            return null;
        if (!text.Contains('_') && System.Enum.TryParse<T>(text, ignoreCase: true, out var value) && System.Enum.IsDefined(value) && !char.IsAsciiDigit(text[0]))
            return value;
        var names = System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant());
        Error(node, key, $"'{text}' is not one of {string.Join(", ", names)}");
        return null;
    }

    /// <summary>IP:port ("127.0.0.1:2525", "[::1]:2525"; port 0: a fresh port).</summary>
    public IPEndPoint? EndPoint(string key)
    {
        if (Scalar(key) is not var (node, text))
            return null;
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port is >= 0 and <= 65535 && text.Contains(':'))
            return ep;
        Error(node, key, $"'{text}' is not an IP:port address (examples: 127.0.0.1:2525, [::1]:2525)");
        return null;
    }

    /// <summary>A list of values (also accepted: one comma-separated value, as the environment gives it).</summary>
    public List<string>? Strings(string key)
    {
        switch (Node(key))
        {
            case null:
                return null;
            case ConfigList list:
                var result = new List<string>();
                foreach (var item in list.Items)
                    if (item is ConfigScalar { Value: { } v })
                        result.Add(v);
                    else
                        Error(item, key, "items must be single values");
                return result;
            case ConfigScalar { Value: { } csv }: // from the environment: "a.test,b.test"
                return [.. csv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            case var other:
                Error(other, key, "must be a list");
                return null;
        }
    }

    /// <summary>A mapping of names to single values, e.g. HTTP headers.</summary>
    public Dictionary<string, string>? Map(string key)
    {
        if (Section(key) is not { } section)
            return null;
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, node) in section._map.Entries)
            if (node is ConfigScalar { Value: { } value })
                result[name] = value;
            else
                section.Error(node, name, "must be a single value");
        return result;
    }
}
