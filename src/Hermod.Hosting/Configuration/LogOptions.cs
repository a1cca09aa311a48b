namespace Hermod.Hosting.Configuration;

/// <summary>The log (log:): the lowest level written.</summary>
public sealed class LogOptions
{
    public string Level { get; set; } = "information";
}
