using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Hermod.Mime.Tests.TestKit;

public sealed record ParsedAddress(string Address, string? Name);

public sealed record ParsedAttachment(string? Filename, string ContentType, string Content, string? ContentId, string? Disposition);

/// <summary>What a real MIME parser found in a message (the JSON printed by scripts/parse_email.py and node/parse.js).</summary>
public sealed record ParsedMessage(
    string? Subject,
    IReadOnlyList<ParsedAddress>? From,
    IReadOnlyList<ParsedAddress>? To,
    IReadOnlyList<ParsedAddress>? Cc,
    IReadOnlyList<ParsedAddress>? ReplyTo,
    bool BccPresent,
    string? Text,
    string? Html,
    IReadOnlyList<ParsedAttachment> Attachments,
    IReadOnlyList<string> Defects);

/// <summary>
/// The two MIME parsers no one here wrote: Python's email package (Debian's /usr/bin/python3) and npm mailparser
/// (installed by <c>npm ci --prefix tests/Hermod.Mime.Tests/node</c>). A missing peer fails the test, never skips it.
/// </summary>
public static class Peers
{
    public const string Python = "/usr/bin/python3";
    public const string InstallHint = "install it: ./test.sh installs peers";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string NodeDirectory { get; } = typeof(Peers).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "NodePeerDirectory").Value!;

    public static Task<ParsedMessage> PythonAsync(string messageFile)
    {
        if (!File.Exists(Python))
            Assert.Fail($"{Python} not found (Debian python3): {InstallHint}");
        var script = Path.Combine(AppContext.BaseDirectory, "scripts", "parse_email.py");
        return RunAsync(Python, [script, messageFile], AppContext.BaseDirectory);
    }

    public static Task<ParsedMessage> MailparserAsync(string messageFile)
    {
        var node = FindOnPath("node");
        if (node is null)
            Assert.Fail($"node not found on PATH: {InstallHint}");
        if (!File.Exists(Path.Combine(NodeDirectory, "node_modules", "mailparser", "package.json")))
            Assert.Fail($"npm module mailparser is not installed in {NodeDirectory}: {InstallHint} (npm ci --prefix tests/Hermod.Mime.Tests/node)");
        return RunAsync(node, [Path.Combine(NodeDirectory, "parse.js"), messageFile], NodeDirectory);
    }

    private static async Task<ParsedMessage> RunAsync(string program, string[] arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in 60 s");
        }
        var output = await stdout;
        var errors = await stderr;
        if (process.ExitCode != 0)
            Assert.Fail($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{errors}");
        return JsonSerializer.Deserialize<ParsedMessage>(output, Json)
            ?? throw new InvalidOperationException($"{program} printed no result:\n{errors}");
    }

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
