using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Hermod.TestKit;

/// <summary>
/// Real peers (programs no one here wrote) that tests run against Hermod, and how to run them. A peer is found at its
/// Debian path, else on PATH; a missing peer fails the test — in CI and locally alike — because a skipped interop
/// test would look like a passing one. ./test.sh installs every peer.
/// </summary>
public static class Peers
{
    public const string InstallHint = "install it: ./test.sh installs peers";

    private const string PythonPath = "/usr/bin/python3";

    // Each module is probed once per test run: the interpreter's modules do not change while the tests run.
    private static readonly ConcurrentDictionary<string, Lazy<Task<ProcessResult>>> ImportProbes = new(StringComparer.Ordinal);

    /// <summary>
    /// Debian's python3. Only this interpreter: the first python3 on PATH may be another one without the Debian
    /// modules (python3-aiosmtpd and friends).
    /// </summary>
    public static string Python => Find("python3", PythonPath, "python3", searchPath: false);

    /// <summary>node, on PATH (Debian package nodejs).</summary>
    public static string Node => Find("node", package: "nodejs");

    /// <summary>swaks, the SMTP swiss army knife.</summary>
    public static string Swaks => Find("swaks", "/usr/bin/swaks", "swaks");

    /// <summary>Postfix's load generator.</summary>
    public static string SmtpSource => Find("smtp-source", "/usr/sbin/smtp-source", "postfix");

    /// <summary>Postfix's fast sink.</summary>
    public static string SmtpSink => Find("smtp-sink", "/usr/sbin/smtp-sink", "postfix");

    /// <summary>
    /// The program at <paramref name="path"/>, else <paramref name="name"/> on PATH (unless <paramref name="searchPath"/>
    /// is false); fails the test with the install hint when neither exists.
    /// </summary>
    public static string Find(string name, string? path = null, string? package = null, bool searchPath = true)
    {
        if (path is not null && File.Exists(path))
            return path;
        if (searchPath)
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                    return candidate;
            }
        var where = (path, searchPath) switch
        {
            (null, _) => "on PATH",
            (_, true) => $"at {path} nor on PATH",
            _ => $"at {path}",
        };
        var debian = package is null ? "" : $" (Debian package {package})";
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) ? " (CI=true)" : "";
        Assert.Fail($"peer '{name}'{debian} not found {where}{ci}: {InstallHint}");
        return ""; // not reached
    }

    /// <summary>Debian's python3, once it can import <paramref name="module"/> (from Debian package <paramref name="package"/>); fails the test otherwise.</summary>
    public static async Task<string> PythonWithAsync(string module, string package)
    {
        var python = Python;
        var probe = await ImportProbes.GetOrAdd(module, m => new(() => RunAsync(python, ["-c", $"import {m}"], TimeSpan.FromSeconds(60)))).Value;
        if (probe.ExitCode != 0)
            Assert.Fail($"{python} cannot import {module} (Debian package {package}): {InstallHint}\n{probe.Stderr}");
        return python;
    }

    /// <summary>node, once the npm module <paramref name="module"/> is installed under <paramref name="directory"/>; fails the test otherwise.</summary>
    public static string NodeWith(string directory, string module)
    {
        var node = Node;
        if (!File.Exists(Path.Combine(directory, "node_modules", module, "package.json")))
            Assert.Fail($"npm module {module} is not installed in {directory}: {InstallHint} (npm ci --prefix {directory})");
        return node;
    }

    /// <summary>A helper script the test project copies next to the test assembly, by its path under the project.</summary>
    public static string Script(string relativePath)
    {
        var path = Path.Combine(AppContext.BaseDirectory, relativePath);
        Assert.True(File.Exists(path), $"helper script {path} is missing from the test output (the test project copies its scripts folders there)");
        return path;
    }

    /// <summary>The same as the overload below, with text for standard input, sent as UTF-8.</summary>
    public static Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout, string? stdin,
        string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null) =>
        RunAsync(program, args, timeout, stdin is null ? null : Encoding.UTF8.GetBytes(stdin), workingDirectory, environment);

    /// <summary>
    /// Runs a program to completion with an argument list (no shell), <paramref name="stdin"/> on its standard input
    /// (closed right away when null), capturing stdout as bytes and stderr as text. The working directory is the test's
    /// unless given; <paramref name="environment"/> adds variables, a null value removes one. Past
    /// <paramref name="timeout"/> the process tree is killed and the test fails with what the program wrote so far.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout, byte[]? stdin = null,
        string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
            start.WorkingDirectory = workingDirectory;
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        if (environment is not null)
            foreach (var (key, value) in environment)
                if (value is null)
                    start.Environment.Remove(key);
                else
                    start.Environment[key] = value;

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        var stdout = new MemoryStream();
        var stdoutTask = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdinTask = WriteAndCloseAsync(process.StandardInput, stdin);
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            await Task.WhenAll(stdinTask, stdoutTask, stderrTask).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            // what it wrote until then; a process outside the tree may still hold the pipes open
            await Task.WhenAny(Task.WhenAll(stdoutTask, stderrTask), Task.Delay(TimeSpan.FromSeconds(5)));
            var stderr = stderrTask.IsCompletedSuccessfully ? stderrTask.Result : "";
            Assert.Fail($"{program} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds} s and was killed\n"
                + new ProcessResult(-1, stdout.ToArray(), stderr).Describe());
        }
        return new ProcessResult(process.ExitCode, stdout.ToArray(), await stderrTask);
    }

    private static async Task WriteAndCloseAsync(StreamWriter input, byte[]? bytes)
    {
        try
        {
            if (bytes is not null)
                await input.BaseStream.WriteAsync(bytes);
            input.Close();
        }
        catch (IOException)
        {
            // the program exited without reading its input: its exit code and output tell the story
        }
    }
}
