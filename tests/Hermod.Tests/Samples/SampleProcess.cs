using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;
using Hermod.TestKit;
using Hermod.Tests.TestKit;

namespace Hermod.Tests.Samples;

/// <summary>
/// Builds a sample under samples/ with <c>dotnet build</c>, once per test run: the configuration of the test run
/// (Debug, Release), the repository found by walking up from the test assembly to Hermod.slnx.
/// </summary>
public sealed class SampleBuild
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _built = new(StringComparer.Ordinal);

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Hermod.slnx")))
                    return dir.FullName;
            Assert.Fail($"no Hermod.slnx above {AppContext.BaseDirectory}");
            return ""; // not reached
        }
    }

    /// <summary>The configuration this test assembly was built in: the sample is built the same way.</summary>
    public static string Configuration =>
        typeof(SampleBuild).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>Builds samples/<paramref name="project"/> (at most once) and returns the path of its dll.</summary>
    public Task<string> BuildAsync(string project) =>
        _built.GetOrAdd(project, p => new Lazy<Task<string>>(() => RunBuildAsync(p))).Value;

    private static async Task<string> RunBuildAsync(string project)
    {
        var directory = Path.Combine(RepositoryRoot, "samples", project);
        // --disable-build-servers: no MSBuild node or compiler server outlives the build holding its output pipes open
        var result = await Peers.RunAsync(HermodProcess.DotnetHost,
            ["build", Path.Combine(directory, project + ".csproj"), "-c", Configuration, "--nologo", "-clp:ErrorsOnly", "--disable-build-servers"],
            BuildTimeout, environment: ChildEnvironment());
        Assert.True(result.ExitCode == 0, $"dotnet build of samples/{project} failed: {result.Describe()}");
        // same target framework as the tests (Directory.Build.props): bin/<Configuration>/<tfm>/
        var tfm = Path.GetFileName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        var dll = Path.Combine(directory, "bin", Configuration, tfm, project + ".dll");
        Assert.True(File.Exists(dll), $"dotnet build of samples/{project} succeeded but {dll} is missing: {result.Describe()}");
        return dll;
    }

    /// <summary>
    /// What a child process must not inherit from the test run: HERMOD_* would override its config, and the MSBuild
    /// variables of the outer <c>dotnet test</c> would point the inner build at the outer one's SDK state.
    /// </summary>
    public static Dictionary<string, string?> ChildEnvironment()
    {
        var remove = new Dictionary<string, string?>();
        foreach (var key in Environment.GetEnvironmentVariables().Keys.OfType<string>())
            if (key.StartsWith("HERMOD_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase))
                remove[key] = null;
        return remove;
    }
}

/// <summary>
/// A built sample (a program hosting Hermod) running <c>serve</c> as a child process, as <see cref="HermodProcess"/>
/// runs hermod.dll: the SMTP ports are read back from the listening lines of the console log. Killed on dispose.
/// </summary>
public sealed partial class SampleProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    private const int MaxLogLines = 5000;

    private readonly ConcurrentQueue<string> _log = new();
    private readonly Dictionary<string, IPEndPoint> _smtp = [];
    private readonly Process _process;

    private SampleProcess(Process process) => _process = process;

    /// <summary>The console log so far (the last lines, bounded), in order.</summary>
    public IReadOnlyList<string> Lines => [.. _log];

    public string Log => string.Join('\n', _log);

    public int Pid => _process.Id;

    public IPEndPoint Smtp(string listener) =>
        _smtp.TryGetValue(listener, out var ep) ? ep : throw new InvalidOperationException($"no SMTP listener '{listener}' was reported; log:\n{Log}");

    /// <summary>Starts <c>dotnet DLL serve --config CONFIG</c> in <paramref name="workingDirectory"/> and waits until every listener reported its port.</summary>
    public static async Task<SampleProcess> StartAsync(string dll, string config, string workingDirectory, IReadOnlyCollection<string> listeners)
    {
        var start = new ProcessStartInfo(HermodProcess.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in (string[])[dll, "serve", "--config", config])
            start.ArgumentList.Add(arg);
        foreach (var key in SampleBuild.ChildEnvironment().Keys)
            start.Environment.Remove(key);

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var sample = new SampleProcess(process);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
                return;
            sample._log.Enqueue(line);
            while (sample._log.Count > MaxLogLines)
                sample._log.TryDequeue(out _);
            lock (sample._smtp)
            {
                if (ready.Task.IsCompleted || SmtpListening().Match(line) is not { Success: true } m)
                    return;
                sample._smtp[m.Groups["name"].Value] = IPEndPoint.Parse(m.Groups["ep"].Value);
                if (listeners.All(sample._smtp.ContainsKey))
                    ready.TrySetResult();
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("serve exited during startup"));
        if (!process.Start())
            throw new InvalidOperationException($"cannot start {start.FileName}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(StartTimeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            await sample.DisposeAsync();
            Assert.Fail($"{Path.GetFileName(dll)} serve did not report its listeners within {StartTimeout.TotalSeconds} s ({e.Message}); log:\n{sample.Log}");
        }
        return sample;
    }

    /// <summary>Sends SIGTERM (what systemd and docker stop send) and returns the exit code; fails the test if it does not exit in time.</summary>
    public async Task<int> TerminateAsync()
    {
        var kill = await Peers.RunAsync(Peers.Find("kill", "/usr/bin/kill"), ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        Assert.True(kill.ExitCode == 0, $"kill -TERM {Pid}: {kill.Describe()}");
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await _process.WaitForExitAsync(timeout.Token); // also waits for the last output lines
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no exit within {StopTimeout.TotalSeconds} s of SIGTERM; log:\n{Log}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // never started, already reaped, or gone without its last output
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"SMTP listener (?<name>\S+) \((?<role>\w+), tls (?<tls>\w+)\) on (?<ep>\S+)$")]
    private static partial Regex SmtpListening();
}
