using Hermod.Core.Smtp;

namespace Hermod.Smtp.Client;

/// <summary>
/// The last lines of a client conversation, for logs: "C: " for what the client sent, "S: " for replies,
/// "* " for events (connect, TLS, content transfers). Credentials never enter it: AUTH arguments and the responses
/// to 334 challenges are stored as "***". Bounded in lines and line length; safe to read from another thread.
/// </summary>
public sealed class SmtpClientTranscript
{
    public const int MaxLineLength = 512;
    internal const string Redacted = "***";

    private readonly string[] _lines;
    private readonly Lock _lock = new();
    private int _next;
    private int _count;

    public SmtpClientTranscript(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _lines = new string[capacity];
    }

    /// <summary>Lines kept at most.</summary>
    public int Capacity => _lines.Length;

    /// <summary>A snapshot of the kept lines, oldest first.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                var copy = new string[_count];
                var start = (_next - _count + _lines.Length) % Math.Max(_lines.Length, 1);
                for (var i = 0; i < _count; i++)
                    copy[i] = _lines[(start + i) % _lines.Length];
                return copy;
            }
        }
    }

    /// <summary>The last <paramref name="count"/> lines, oldest first.</summary>
    public IReadOnlyList<string> Last(int count)
    {
        var lines = Lines;
        return count >= lines.Count ? lines : lines.Skip(lines.Count - count).ToArray();
    }

    public override string ToString() => string.Join('\n', Lines);

    internal void Client(string line) => Add("C: " + line);

    /// <summary>An AUTH command: the mechanism is kept, any initial response is not.</summary>
    internal void ClientAuth(string mechanism, bool hasInitialResponse) =>
        Add($"C: AUTH {mechanism}{(hasInitialResponse ? " " + Redacted : "")}");

    /// <summary>A response to a SASL challenge.</summary>
    internal void ClientSecret() => Add("C: " + Redacted);

    internal void Server(SmtpReply reply)
    {
        var lines = reply.Text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var sep = i == lines.Length - 1 ? ' ' : '-';
            Add(reply.Enhanced.IsNone ? $"S: {reply.Code}{sep}{lines[i]}" : $"S: {reply.Code}{sep}{reply.Enhanced} {lines[i]}");
        }
    }

    internal void Event(string text) => Add("* " + text);

    private void Add(string line)
    {
        if (_lines.Length == 0)
            return;
        if (line.Length > MaxLineLength)
            line = string.Concat(line.AsSpan(0, MaxLineLength - 3), "...");
        lock (_lock)
        {
            _lines[_next] = line;
            _next = (_next + 1) % _lines.Length;
            if (_count < _lines.Length)
                _count++;
        }
    }
}
