using System.Net;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Policy.Headers;
using Hermod.Policy.Modifiers;

namespace Hermod.Policy.Tests.Modifiers;

internal static class ModifierTestKit
{
    public static ModifierContext Context(string sender = "", string? body = null) => new()
    {
        Listener = "test",
        ClientAddress = IPAddress.Parse("192.0.2.1"),
        Sender = sender,
        OpenBody = body is null ? null : _ => Task.FromResult<Stream>(new MemoryStream(Encoding.Latin1.GetBytes(body))),
    };

    public static MessageHeader Header(string block) => MessageHeader.Parse(Encoding.Latin1.GetBytes(block));

    public static string Text(MessageHeader header) => Encoding.Latin1.GetString(header.ToBytes());

    /// <summary>Asserts a config has no errors, showing them when it has.</summary>
    public static void AssertValid(ConfigSection config) => Assert.True(config.Errors.Count == 0, string.Join("\n", config.Errors));

    /// <summary>Asserts one error names <paramref name="key"/> (as "section.key: ") and contains <paramref name="text"/>.</summary>
    public static string AssertError(ConfigSection config, string key, string text)
    {
        var named = $"{config.Key}.{key}: ";
        var error = config.Errors.FirstOrDefault(e => e.Contains(named, StringComparison.Ordinal) && e.Contains(text, StringComparison.Ordinal));
        Assert.True(error is not null, $"no error for {named}... {text} in:\n{string.Join("\n", config.Errors)}");
        return error!;
    }
}

/// <summary>A file under the temp directory with a unique name, deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(string content, string name = "aliases.txt")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"hermod-{Guid.NewGuid():N}-{name}");
        File.WriteAllText(Path, content);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
