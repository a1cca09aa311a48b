using System.Diagnostics;
using System.Text;

namespace Hermod.Tests.TestKit;

/// <summary>What a child process did: its exit code and everything it wrote.</summary>
public sealed record ProcessResult(int ExitCode, byte[] StdoutBytes, string Stderr)
{
    public string Stdout => Encoding.UTF8.GetString(StdoutBytes);

    /// <summary>Exit code, stdout and stderr for an assertion message.</summary>
    public string Describe() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Real peers (programs no one here wrote) that interop tests run against Hermod. A peer is found by its
/// Debian path, then on PATH; a missing peer fails the test — in CI and locally alike — because a skipped
/// interop test would look like a passing one (see PEERS.md).
/// </summary>
public static class Peers
{
    public const string InstallHint = "install it: ./test.sh installs peers";

    /// <summary>swaks, the SMTP swiss army knife (Debian package swaks).</summary>
    public static string Swaks => Find("swaks", "/usr/bin/swaks");

    /// <summary>
    /// Debian's python3. Only this interpreter: the first python3 on PATH may be another one without the
    /// Debian modules (python3-aiosmtpd and friends).
    /// </summary>
    public static string Python => Find("python3", "/usr/bin/python3", searchPath: false);

    /// <summary>Postfix's load generator (Debian package postfix).</summary>
    public static string SmtpSource => Find("smtp-source", "/usr/sbin/smtp-source");

    /// <summary>Postfix's fast sink (Debian package postfix).</summary>
    public static string SmtpSink => Find("smtp-sink", "/usr/sbin/smtp-sink");

    /// <summary>The peer at <paramref name="path"/>, else <paramref name="name"/> on PATH; fails the test when neither exists.</summary>
    public static string Find(string name, string path, bool searchPath = true)
    {
        if (File.Exists(path))
            return path;
        if (searchPath)
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                    return candidate;
            }
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) ? " (CI=true)" : "";
        Assert.Fail($"peer '{name}' not found at {path}{(searchPath ? " nor on PATH" : "")}{ci}: {InstallHint}");
        return path; // not reached
    }

    /// <summary>A Python helper script copied next to the test assembly (tests/Hermod.Tests/Interop/scripts).</summary>
    public static string Script(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Interop", "scripts", fileName);
        Assert.True(File.Exists(path), $"helper script {path} is missing from the test output (see the csproj ItemGroup for Interop/scripts)");
        return path;
    }

    /// <summary>Runs /usr/bin/python3 with a helper script and its arguments.</summary>
    public static Task<ProcessResult> RunPythonAsync(string script, IEnumerable<string> args, TimeSpan timeout) =>
        RunAsync(Python, [Script(script), .. args], timeout);

    /// <summary>
    /// Runs a program to completion with an argument list (no shell), capturing stdout as bytes and stderr as text.
    /// <paramref name="environment"/> adds variables; a null value removes one.
    /// Past <paramref name="timeout"/> the process tree is killed and the test fails with what it wrote so far.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, TimeSpan timeout,
        byte[]? stdin = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        if (environment is not null)
            foreach (var (key, value) in environment)
                if (value is null)
                    start.Environment.Remove(key);
                else
                    start.Environment[key] = value;

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {fileName}");
        var stdout = new MemoryStream();
        var stdoutTask = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderrTask = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
                await process.StandardInput.BaseStream.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // the program exited without reading its input: its exit code and output tell the story
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            await Task.WhenAll(stdoutTask, stderrTask).WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Fail($"{fileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds} s and was killed\n"
                + new ProcessResult(-1, stdout.ToArray(), stderrTask.Result).Describe());
        }
        await Task.WhenAll(stdoutTask, stderrTask);
        return new ProcessResult(process.ExitCode, stdout.ToArray(), await stderrTask);
    }
}
