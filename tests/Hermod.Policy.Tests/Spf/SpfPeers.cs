using System.Diagnostics;

namespace Hermod.Policy.Tests.Spf;

/// <summary>
/// Debian's /usr/bin/python3 with python3-spf (pyspf) and python3-yaml. A missing peer fails the test, never skips it (PEERS.md).
/// </summary>
public static class SpfPeers
{
    public const string Python = "/usr/bin/python3";
    public const string InstallHint = "install it: ./test.sh installs peers";

    public static string Script(string name) => Path.Combine(AppContext.BaseDirectory, "Spf", "scripts", name);

    /// <summary>Fails the test unless /usr/bin/python3 can import every module.</summary>
    public static async Task RequireModulesAsync(params string[] modules)
    {
        if (!File.Exists(Python))
            Assert.Fail($"{Python} not found (Debian python3): {InstallHint}");
        foreach (var module in modules)
        {
            var (code, _, errors) = await RunAsync([Python, "-c", $"import {module}"], null);
            if (code != 0)
            {
                var package = module == "spf" ? "python3-spf" : module == "yaml" ? "python3-yaml" : module;
                Assert.Fail($"{Python} cannot import {module} (Debian {package}): {InstallHint}\n{errors}");
            }
        }
    }

    /// <summary>Runs a python script, feeds <paramref name="stdin"/>, returns its output; a non-zero exit fails the test.</summary>
    public static async Task<string> RunScriptAsync(string script, IEnumerable<string> arguments, string? stdin = null)
    {
        var (code, output, errors) = await RunAsync([Python, Script(script), .. arguments], stdin);
        if (code != 0)
            Assert.Fail($"{script} failed ({code}):\n{errors}");
        return output;
    }

    private static async Task<(int Code, string Output, string Errors)> RunAsync(string[] command, string? stdin)
    {
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1))
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        if (stdin is not null)
            await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{string.Join(' ', command)} did not finish in 120 s");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
