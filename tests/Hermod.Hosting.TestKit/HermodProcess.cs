using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Hermod.TestKit;

namespace Hermod.Hosting.TestKit;

/// <summary>One SMTP listener in a <see cref="HermodProcessConfig"/>; always on 127.0.0.1 (the port is read back from the log).</summary>
public sealed record ProcessListener(string Name, string Role, string Tls, string Auth);

/// <summary>What <see cref="HermodProcess"/> writes into hermod.yaml.</summary>
public sealed class HermodProcessConfig
{
    public string Hostname { get; set; } = "mx.example.test";

    public List<string> LocalDomains { get; set; } = ["example.test"];

    /// <summary>By default "mx" (ingress, STARTTLS) and "submission" (STARTTLS, auth required), as in <see cref="TestHost"/>.</summary>
    public List<ProcessListener> Listeners { get; set; } =
    [
        new("mx", "ingress", "starttls", "none"),
        new("submission", "submission", "starttls", "required"),
    ];

    /// <summary>smtp.limits keys, e.g. ["max_message_size"] = "200MB".</summary>
    public Dictionary<string, string> Limits { get; } = new() { ["max_connections_per_ip"] = "200" };

    /// <summary>User name → password hash; alice has <see cref="TestHost.Password"/>.</summary>
    public Dictionary<string, string> Users { get; } = new() { ["alice"] = TestHost.PasswordHash };

    /// <summary>Must stay at information or below: the listening lines are how the process reports its ports.</summary>
    public string LogLevel { get; set; } = "information";

    /// <summary>The delivery section; by default delivery is off (accept and hold).</summary>
    public string Delivery { get; set; } = "delivery:\n  enabled: false\n";

    /// <summary>More top-level YAML (e.g. routes:), appended as is.</summary>
    public string Extra { get; set; } = "";

    /// <summary>Appended to every listener's line, e.g. "      cut_through: { rcpt_timeout: 2s }\n".</summary>
    public string ListenerExtra { get; set; } = "";

    public string ToYaml(string dataDir)
    {
        var y = new StringBuilder();
        y.Append(CultureInfo.InvariantCulture, $"hostname: {Quote(Hostname)}\n");
        y.Append(CultureInfo.InvariantCulture, $"data_dir: {Quote(dataDir)}\n");
        y.Append("smtp:\n");
        y.Append(CultureInfo.InvariantCulture, $"  local_domains: [{string.Join(", ", LocalDomains.Select(Quote))}]\n");
        y.Append("  listeners:\n");
        foreach (var l in Listeners)
        {
            y.Append(CultureInfo.InvariantCulture, $"    - name: {Quote(l.Name)}\n");
            y.Append("      address: '127.0.0.1:0'\n");
            y.Append(CultureInfo.InvariantCulture, $"      role: {l.Role}\n      tls: {l.Tls}\n      auth: {l.Auth}\n");
            y.Append(ListenerExtra);
        }
        if (Limits.Count > 0)
        {
            y.Append("  limits:\n");
            foreach (var (key, value) in Limits)
                y.Append(CultureInfo.InvariantCulture, $"    {key}: {Quote(value)}\n");
        }
        if (Users.Count > 0)
        {
            y.Append("users:\n");
            foreach (var (name, hash) in Users)
                y.Append(CultureInfo.InvariantCulture, $"  - name: {Quote(name)}\n    password_hash: {Quote(hash)}\n");
        }
        y.Append("http:\n  address: '127.0.0.1:0'\n");
        y.Append(Delivery);
        y.Append(Extra);
        y.Append("dns:\n  servers: ['127.0.0.1:9']\n"); // never the machine's resolver
        y.Append(CultureInfo.InvariantCulture, $"log:\n  level: {LogLevel}\n");
        return y.ToString();
    }

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}

/// <summary>
/// The built hermod binary (hermod.dll as src/Hermod was built) as a child process: <c>hermod serve</c> with a
/// generated hermod.yaml in a temporary directory. The real ports are read from the listening lines of the console
/// log. The process tree is killed and the directory deleted on dispose, also when the test failed.
/// </summary>
public sealed partial class HermodProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);
    private const int MaxLogLines = 5000;

    private readonly HermodProcessConfig _config;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;
    private Dictionary<string, IPEndPoint> _smtp = [];
    private IPEndPoint? _http;

    private HermodProcess(HermodProcessConfig config, string directory)
    {
        _config = config;
        Directory = directory;
        DataDir = Path.Combine(directory, "data");
        ConfigPath = Path.Combine(directory, "hermod.yaml");
    }

    /// <summary>The temporary directory holding hermod.yaml and the data directory.</summary>
    public string Directory { get; }

    public string DataDir { get; }

    public string ConfigPath { get; }

    /// <summary>hermod.dll as the build of src/Hermod left it (the test project builds it; the path is in its assembly metadata).</summary>
    public static string HermodDll
    {
        get
        {
            var path = typeof(HermodProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "HermodDll").Value!;
            Assert.True(File.Exists(path), $"{path} is missing: the test project must build src/Hermod (a ProjectReference without its output)");
            return path;
        }
    }

    /// <summary>The dotnet host that runs this test process (…/dotnet next to shared/Microsoft.NETCore.App/VERSION/).</summary>
    public static string DotnetHost
    {
        get
        {
            var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
            var host = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            return File.Exists(host) ? host : "dotnet";
        }
    }

    public int Pid => _process?.Id ?? throw new InvalidOperationException("not started");

    public bool HasExited => _process is null || _process.HasExited;

    public IPEndPoint Smtp(string listener = "mx") =>
        _smtp.TryGetValue(listener, out var ep) ? ep : throw new InvalidOperationException($"no SMTP listener '{listener}' was reported; log:\n{Log}");

    public Uri Http => new($"http://{_http}");

    /// <summary>The console log so far (the last lines, bounded), for assertion messages.</summary>
    public string Log => string.Join('\n', _log);

    public static async Task<HermodProcess> StartAsync(Action<HermodProcessConfig>? configure = null)
    {
        var config = new HermodProcessConfig();
        configure?.Invoke(config);
        var directory = Path.Combine(Path.GetTempPath(), "hermod-proc-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var hermod = new HermodProcess(config, directory);
        try
        {
            await hermod.StartServeAsync();
            return hermod;
        }
        catch
        {
            await hermod.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts <c>serve</c> again on the same config and data directory (after <see cref="KillHard"/>); ports change.</summary>
    public Task RestartAsync()
    {
        if (!HasExited)
            throw new InvalidOperationException("hermod is still running");
        _process?.Dispose();
        _process = null;
        return StartServeAsync();
    }

    /// <summary>Starts serve; every listener is on port 0, the log says which ports it got.</summary>
    private async Task StartServeAsync()
    {
        File.WriteAllText(ConfigPath, _config.ToYaml(DataDir));
        if (await TryStartServeAsync() is { } failure)
            Assert.Fail(failure);
    }

    /// <summary>Null when serve reported all its listeners, else why not.</summary>
    private async Task<string?> TryStartServeAsync()
    {
        var start = StartInfo(["serve"]);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var smtp = new Dictionary<string, IPEndPoint>();
        IPEndPoint? http = null;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        void OnLine(string? line)
        {
            if (line is null)
                return;
            _log.Enqueue(line);
            while (_log.Count > MaxLogLines)
                _log.TryDequeue(out _);
            if (ready.Task.IsCompleted)
                return;
            lock (smtp)
            {
                if (SmtpListening().Match(line) is { Success: true } s)
                    smtp[s.Groups["name"].Value] = IPEndPoint.Parse(s.Groups["ep"].Value);
                else if (HttpListening().Match(line) is { Success: true } h)
                    http = IPEndPoint.Parse(h.Groups["ep"].Value);
                if (http is not null && _config.Listeners.All(l => smtp.ContainsKey(l.Name)))
                    ready.TrySetResult();
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("hermod serve exited during startup"));
        _log.Enqueue($"--- {start.FileName} {string.Join(' ', start.ArgumentList)}");
        if (!process.Start())
            throw new InvalidOperationException("cannot start hermod");
        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(StartTimeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already exited
            }
            await process.WaitForExitAsync(); // and the last output lines
            return $"hermod serve did not report its listeners within {StartTimeout.TotalSeconds} s ({e.Message}), "
                + $"exit code {process.ExitCode}; log:\n{Log}";
        }
        lock (smtp)
        {
            _smtp = new Dictionary<string, IPEndPoint>(smtp);
            _http = http;
        }
        return null;
    }

    private ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        start.ArgumentList.Add(HermodDll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(ConfigPath);
        foreach (var key in CleanEnvironment().Keys)
            start.Environment.Remove(key);
        return start;
    }

    /// <summary>HERMOD_* variables of the test run would override the generated config: the child never sees them.</summary>
    private static Dictionary<string, string?> CleanEnvironment()
    {
        var remove = new Dictionary<string, string?>();
        foreach (var key in Environment.GetEnvironmentVariables().Keys.OfType<string>())
            if (key.StartsWith("HERMOD_", StringComparison.OrdinalIgnoreCase))
                remove[key] = null;
        return remove;
    }

    /// <summary>SIGKILL for the whole process tree (kill -9): no shutdown code runs. Waits until it is gone.</summary>
    public void KillHard()
    {
        if (_process is null || _process.HasExited)
            return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Runs <c>hermod ARGS --config hermod.yaml</c> (e.g. queue list --json) to completion.</summary>
    public Task<ProcessResult> RunCliAsync(params string[] args) =>
        Peers.RunAsync(DotnetHost, [HermodDll, .. args, "--config", ConfigPath], CliTimeout, environment: CleanEnvironment());

    /// <summary>Current resident set size (VmRSS) of the serve process, in bytes.</summary>
    public long RssBytes => ReadStatus("VmRSS:");

    /// <summary>Peak resident set size (VmHWM) of the serve process since start or the last <see cref="TryResetPeakRss"/>, in bytes.</summary>
    public long PeakRssBytes => ReadStatus("VmHWM:");

    /// <summary>Resets VmHWM to the current RSS (writes 5 to /proc/PID/clear_refs, Linux 4.0+); false when the kernel refuses.</summary>
    public bool TryResetPeakRss()
    {
        try
        {
            File.WriteAllText($"/proc/{Pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private long ReadStatus(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var kb = line[field.Length..].Trim();
                Assert.EndsWith(" kB", kb);
                return long.Parse(kb[..^3], CultureInfo.InvariantCulture) * 1024;
            }
        Assert.Fail($"/proc/{Pid}/status has no {field} line");
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            try
            {
                KillHard();
            }
            catch (InvalidOperationException)
            {
                // never started or already reaped
            }
            _process.Dispose();
            _process = null;
        }
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (System.IO.Directory.Exists(Directory))
                    System.IO.Directory.Delete(Directory, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 5)
            {
                await Task.Delay(100);
            }
            catch (IOException)
            {
                return;
            }
        }
    }

    [GeneratedRegex(@"SMTP listener (?<name>\S+) \((?<role>\w+), tls (?<tls>\w+)\) on (?<ep>\S+)$")]
    private static partial Regex SmtpListening();

    [GeneratedRegex(@"HTTP on http://(?<ep>\S+)$")]
    private static partial Regex HttpListening();
}
