using Hermod.TestKit;

namespace Hermod.Policy.Tests.Spf;

/// <summary>The SPF helper scripts (Spf/scripts), run by Debian's python3 with python3-spf (pyspf) and python3-yaml.</summary>
public static class SpfPeers
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static string Script(string name) => Peers.Script($"Spf/scripts/{name}");

    /// <summary>Runs a python script, feeds <paramref name="stdin"/>, returns its output; a non-zero exit fails the test.</summary>
    public static async Task<string> RunScriptAsync(string script, IEnumerable<string> arguments, string? stdin = null)
    {
        var result = await Peers.RunAsync(Peers.Python, [Script(script), .. arguments], Timeout, stdin);
        Assert.True(result.ExitCode == 0, $"{script}: {result.Describe()}");
        return result.Stdout;
    }
}
