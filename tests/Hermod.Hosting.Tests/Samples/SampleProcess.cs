using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Samples;

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
