using System.Collections;
using Hermod.Core.Configuration;

namespace Hermod.Hosting.Configuration;

/// <summary>Reads hermod.yaml (optional), applies HERMOD_* environment overrides and binds the result.</summary>
public static class ConfigLoader
{
    /// <param name="path">The YAML file, or null for embedded defaults.</param>
    /// <param name="environment">Environment variables (null: the process environment).</param>
    /// <exception cref="ConfigException">Every problem found, as "file:line: key: reason".</exception>
    public static HermodConfiguration Load(string? path, IDictionary? environment = null) =>
        HermodConfigBinder.Bind(ConfigSection.Create(ConfigFile.Read(path, environment), "", ConfigFile.Source(path)));
}
