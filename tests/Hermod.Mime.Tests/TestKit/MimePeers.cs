using System.Reflection;
using System.Text.Json;
using Hermod.TestKit;

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
public static class MimePeers
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string NodeDirectory { get; } = typeof(MimePeers).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "NodePeerDirectory").Value!;

    public static Task<ParsedMessage> PythonAsync(string messageFile) =>
        ParseAsync(Peers.Python, [Peers.Script("scripts/parse_email.py"), messageFile], AppContext.BaseDirectory);

    public static Task<ParsedMessage> MailparserAsync(string messageFile) =>
        ParseAsync(Peers.NodeWith(NodeDirectory, "mailparser"), [Path.Combine(NodeDirectory, "parse.js"), messageFile], NodeDirectory);

    private static async Task<ParsedMessage> ParseAsync(string program, string[] arguments, string workingDirectory)
    {
        var run = await Peers.RunAsync(program, arguments, Timeout, workingDirectory: workingDirectory);
        Assert.True(run.ExitCode == 0, $"{program} {string.Join(' ', arguments)}: {run.Describe()}");
        return JsonSerializer.Deserialize<ParsedMessage>(run.Stdout, Json)
            ?? throw new InvalidOperationException($"{program} printed no result:\n{run.Stderr}");
    }
}
