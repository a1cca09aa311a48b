using System.Text;
using Hermod.Dns;

namespace Hermod.Policy.Tests.Dkim;

/// <summary>A DNS edge for the verifier: TXT answers from a table, or a failure status.</summary>
internal sealed class FakeTxtResolver : IDnsResolver
{
    private readonly Dictionary<string, string[]> _records = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, DnsStatus> _failures = new(StringComparer.OrdinalIgnoreCase);

    public List<string> Queries { get; } = [];

    public FakeTxtResolver Add(string name, params string[] texts)
    {
        _records[name] = texts;
        return this;
    }

    public FakeTxtResolver Fail(string name, DnsStatus status)
    {
        _failures[name] = status;
        return this;
    }

    public Task<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken = default)
    {
        lock (Queries)
            Queries.Add(name);
        if (_failures.TryGetValue(name, out var status))
            return Task.FromResult(new DnsAnswer(status, [], false));
        if (!_records.TryGetValue(name, out var texts))
            return Task.FromResult(new DnsAnswer(DnsStatus.NxDomain, [], false));
        var records = texts.Select(t => (DnsRecord)new TxtRecord(name, TimeSpan.FromMinutes(5), Split(t))).ToList();
        return Task.FromResult(new DnsAnswer(DnsStatus.Ok, records, false));
    }

    /// <summary>A TXT text as 255-byte character-strings, the way long DKIM records are published.</summary>
    public static IReadOnlyList<byte[]> Split(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return bytes.Chunk(255).ToList();
    }
}
