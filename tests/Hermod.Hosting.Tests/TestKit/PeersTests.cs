using System.Diagnostics;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.TestKit;

/// <summary>The shared peer runner: a missing peer is a failure with the install hint, and a run is bounded.</summary>
public sealed class PeersTests
{
    [Fact]
    public async Task A_missing_python_module_fails_with_the_install_hint()
    {
        var failure = await Assert.ThrowsAsync<Xunit.Sdk.FailException>(() => Peers.PythonWithAsync("hermod_no_such_module", "python3-hermod"));
        Assert.Contains(Peers.InstallHint, failure.Message);
        Assert.Contains("python3-hermod", failure.Message);
    }

    [Fact]
    public void A_missing_program_fails_with_the_install_hint()
    {
        var failure = Assert.Throws<Xunit.Sdk.FailException>(() => Peers.Find("hermod-no-such-peer", "/nonexistent/hermod-no-such-peer", "hermod-peer"));
        Assert.Contains(Peers.InstallHint, failure.Message);
        Assert.Contains("/nonexistent/hermod-no-such-peer nor on PATH", failure.Message);
    }

    [Fact]
    public void A_missing_npm_module_fails_with_the_install_hint()
    {
        var directory = Directory.CreateTempSubdirectory("hermod-peers-").FullName;
        try
        {
            var failure = Assert.Throws<Xunit.Sdk.FailException>(() => Peers.NodeWith(directory, "hermod-no-such-module"));
            Assert.Contains(Peers.InstallHint, failure.Message);
            Assert.Contains($"npm ci --prefix {directory}", failure.Message);
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public async Task Stdin_working_directory_and_environment_reach_the_program()
    {
        var directory = Directory.CreateTempSubdirectory("hermod-peers-").FullName;
        try
        {
            var run = await Peers.RunAsync(Peers.Find("sh", "/bin/sh"), ["-c", "cat; pwd; echo \"$HERMOD_PEER_TEST\"; echo oops >&2; exit 3"],
                TimeSpan.FromSeconds(30), "in\u00e9\n", directory, new Dictionary<string, string?> { ["HERMOD_PEER_TEST"] = "set" });
            Assert.Equal(3, run.ExitCode);
            Assert.Equal($"in\u00e9\n{directory}\nset\n", run.Stdout);
            Assert.Equal("oops\n", run.Stderr);
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public async Task A_run_past_its_timeout_is_killed_with_its_children_and_fails()
    {
        var pidFile = Path.GetTempFileName();
        try
        {
            // a child that outlives the shell unless the whole tree is killed
            var watch = Stopwatch.StartNew();
            var failure = await Assert.ThrowsAsync<Xunit.Sdk.FailException>(() => Peers.RunAsync(Peers.Find("sh", "/bin/sh"),
                ["-c", $"sleep 60 & echo $! > {pidFile}; echo started; wait"], TimeSpan.FromMilliseconds(500)));
            Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(20));
            Assert.Contains("did not finish within 0.5 s and was killed", failure.Message);
            Assert.Contains("started", failure.Message);
            var child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(await StillRunsAsync(child), $"the child {child} still runs");
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    /// <summary>Whether <paramref name="pid"/> still runs within 5 s (a zombie waiting to be reaped does not).</summary>
    private static async Task<bool> StillRunsAsync(int pid)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            string text;
            try
            {
                text = await File.ReadAllTextAsync($"/proc/{pid}/stat");
            }
            catch (IOException)
            {
                return false; // gone
            }
            if (text[(text.LastIndexOf(')') + 2)..].StartsWith('Z'))
                return false;
            if (watch.Elapsed > TimeSpan.FromSeconds(5))
                return true;
            await Task.Delay(50);
        }
    }
}
