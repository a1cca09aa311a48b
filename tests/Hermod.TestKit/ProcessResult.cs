using System.Text;

namespace Hermod.TestKit;

/// <summary>What a child process did: its exit code and everything it wrote.</summary>
public sealed record ProcessResult(int ExitCode, byte[] StdoutBytes, string Stderr)
{
    public string Stdout => Encoding.UTF8.GetString(StdoutBytes);

    /// <summary>Exit code, stdout and stderr for an assertion message.</summary>
    public string Describe() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}
