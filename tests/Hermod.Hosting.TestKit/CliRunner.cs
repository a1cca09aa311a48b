using Hermod.TestKit;

namespace Hermod.Hosting.TestKit;

/// <summary>Runs the built hermod binary (<see cref="HermodProcess.HermodDll"/>) as a process.</summary>
public static class CliRunner
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>hermod with <paramref name="args"/>, in the temporary directory unless <paramref name="workingDirectory"/> is given.</summary>
    public static Task<ProcessResult> RunAsync(IEnumerable<string> args, string? stdin = null, IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null) =>
        Peers.RunAsync(HermodProcess.DotnetHost, [HermodProcess.HermodDll, .. args], Timeout, stdin, workingDirectory ?? Path.GetTempPath(), environment);
}
