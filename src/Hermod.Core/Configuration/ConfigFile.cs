using System.Collections;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hermod.Core.Configuration;

/// <summary>
/// Reads the configuration file (YAML) into the raw tree and applies the HERMOD_* environment overrides; each node
/// remembers where it came from. Binding the tree to options is each area's (see <see cref="ConfigSection"/>).
/// </summary>
public static class ConfigFile
{
    private const string EnvironmentPrefix = "HERMOD_";

    /// <param name="path">The YAML file, or null for none (embedded defaults).</param>
    /// <param name="environment">Environment variables (null: the process environment).</param>
    public static ConfigMap Read(string? path, IDictionary? environment = null)
    {
        var root = path is null ? new ConfigMap { Origin = Defaults } : ReadYaml(path);
        ApplyEnvironment(root, environment ?? Environment.GetEnvironmentVariables());
        return root;
    }

    /// <summary>What errors name when a node has no origin: the file, or "(defaults)".</summary>
    public static string Source(string? path) => path ?? Defaults;

    private const string Defaults = "(defaults)";

    private static ConfigMap ReadYaml(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([$"{path}: cannot read the file: {e.Message}"]);
        }

        return Parse(text, path);
    }

    /// <summary>Parses YAML text whose top level is a mapping; <paramref name="source"/> names it in errors.</summary>
    public static ConfigMap Parse(string text, string source)
    {
        var path = source;
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ConfigException([$"{path}:{e.Start.Line}: not valid YAML: {e.InnerException?.Message ?? e.Message}"]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            return new ConfigMap { Origin = path };
        var node = Convert(stream.Documents[0].RootNode, path);
        return node as ConfigMap
            ?? throw new ConfigException([$"{path}:1: the top level must be a mapping of keys (hostname:, smtp:, ...)"]);
    }

    private static ConfigNode Convert(YamlNode node, string file)
    {
        var origin = $"{file}:{node.Start.Line}";
        switch (node)
        {
            case YamlMappingNode map:
                var result = new ConfigMap { Origin = origin };
                foreach (var (key, value) in map.Children)
                {
                    var name = ((YamlScalarNode)key).Value ?? "";
                    result.Entries[name] = Convert(value, file);
                }
                return result;
            case YamlSequenceNode seq:
                var list = new ConfigList { Origin = origin };
                foreach (var item in seq.Children)
                    list.Items.Add(Convert(item, file));
                return list;
            case YamlScalarNode scalar:
                var isNull = scalar.Style == ScalarStyle.Plain && scalar.Value is "" or "~" or "null" or null;
                return new ConfigScalar(isNull ? null : scalar.Value) { Origin = origin };
            default:
                throw new ConfigException([$"{origin}: YAML aliases and tags are not supported"]);
        }
    }

    /// <summary>HERMOD_SMTP__LISTENERS__0__ADDRESS=x sets smtp.listeners[0].address to x.</summary>
    private static void ApplyEnvironment(ConfigMap root, IDictionary environment)
    {
        var names = new List<string>();
        foreach (DictionaryEntry entry in environment)
        {
            var name = (string)entry.Key;
            if (name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) && name.Length > EnvironmentPrefix.Length)
                names.Add(name);
        }
        names.Sort(StringComparer.Ordinal); // list indexes are created in order
        foreach (var name in names)
        {
            var segments = name[EnvironmentPrefix.Length..].ToLowerInvariant().Split("__");
            Set(root, segments, (string?)environment[name], $"environment {name}");
        }
    }

    private static void Set(ConfigMap root, string[] path, string? value, string origin)
    {
        ConfigNode current = root;
        for (var i = 0; i < path.Length; i++)
        {
            var last = i == path.Length - 1;
            var nextIsIndex = !last && int.TryParse(path[i + 1], out _);
            ConfigNode Make() => last ? new ConfigScalar(value) { Origin = origin }
                : nextIsIndex ? new ConfigList { Origin = origin } : new ConfigMap { Origin = origin };

            switch (current)
            {
                case ConfigMap map:
                    if (last || !map.Entries.TryGetValue(path[i], out var child) || child is ConfigScalar)
                        map.Entries[path[i]] = child = Make();
                    current = child;
                    break;
                case ConfigList list when int.TryParse(path[i], out var index) && index >= 0 && index <= list.Items.Count:
                    if (index == list.Items.Count)
                        list.Items.Add(Make());
                    else if (last || list.Items[index] is ConfigScalar)
                        list.Items[index] = Make();
                    current = list.Items[index];
                    break;
                default:
                    throw new ConfigException([$"{origin}: '{string.Join("__", path[..(i + 1)])}' does not name a key or a list index that can be set"]);
            }
        }
    }
}
