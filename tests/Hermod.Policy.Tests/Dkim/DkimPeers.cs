using System.Text;
using Hermod.TestKit;

namespace Hermod.Policy.Tests.Dkim;

/// <summary>
/// The DKIM implementations no one here wrote: dkimpy (Debian python3-dkim, under /usr/bin/python3) and npm mailauth
/// (installed by <c>npm ci --prefix tests/Hermod.Policy.Tests/Dkim/node</c>). A missing peer fails, never skips.
/// </summary>
internal static class DkimPeers
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static string NodeDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "Dkim", "node");
                if (File.Exists(Path.Combine(dir.FullName, "Hermod.Policy.Tests.csproj")) && Directory.Exists(candidate))
                    return candidate;
            }
            Assert.Fail($"tests/Hermod.Policy.Tests/Dkim/node not found above {AppContext.BaseDirectory}");
            return "";
        }
    }

    public static async Task<string> DkimpyAsync(string message, params string[] arguments)
    {
        await Peers.PythonWithAsync("dkim", "python3-dkim");
        var python = await Peers.PythonWithAsync("nacl", "python3-nacl");
        var run = await Peers.RunAsync(python, [Peers.Script("Dkim/scripts/dkimpy_peer.py"), .. arguments], Timeout,
            Encoding.Latin1.GetBytes(message), AppContext.BaseDirectory);
        Assert.True(run.ExitCode == 0, $"dkimpy_peer.py {string.Join(' ', arguments)}: {run.Describe()}");
        return run.Stdout;
    }

    public static async Task<(string Stdout, string Stderr)> MailauthAsync(string message, string recordsJson)
    {
        var directory = NodeDirectory;
        var node = Peers.NodeWith(directory, "mailauth");
        var run = await Peers.RunAsync(node, [Path.Combine(directory, "verify.js"), recordsJson], Timeout, Encoding.Latin1.GetBytes(message), directory);
        Assert.True(run.ExitCode == 0, $"mailauth verify.js: {run.Describe()}");
        return (run.Stdout, run.Stderr);
    }
}
