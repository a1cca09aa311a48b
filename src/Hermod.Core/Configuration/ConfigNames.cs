namespace Hermod.Core.Configuration;

/// <summary>The names configuration accepts: of pipelines, targets and components, and host names.</summary>
public static class ConfigNames
{
    /// <summary>A pipeline, target or component name: 1 to 64 letters, digits, '_' and '-'.</summary>
    public static bool IsName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    /// <summary>A DNS host name.</summary>
    public static bool IsHostname(string name) =>
        name.Length is > 0 and <= 253 && Uri.CheckHostName(name) == UriHostNameType.Dns;
}
