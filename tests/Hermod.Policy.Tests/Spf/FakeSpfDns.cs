using System.Net;
using System.Text;
using Hermod.Dns;

namespace Hermod.Policy.Tests.Spf;

/// <summary>
/// An in-memory zone with the semantics of the OpenSPF suite's driver (pyspf testspf.py): names not in the zone are
/// NXDOMAIN, except those starting with "error." which time out; a bare TIMEOUT entry makes every type listed after
/// it (or not listed) time out; a record whose value is "TIMEOUT" times out its type; CNAMEs are followed (a loop is
/// SERVFAIL). Every query is recorded in <see cref="Queries"/>.
/// </summary>
public sealed class FakeSpfDns : IDnsResolver
{
    private readonly Dictionary<string, List<(string Type, object? Value)>> _zone = new(StringComparer.OrdinalIgnoreCase);
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    public List<(string Name, DnsRecordType Type)> Queries { get; } = [];

    public FakeSpfDns Txt(string name, params string[] strings) => Add(name, "TXT", strings);

    public FakeSpfDns A(string name, params string[] addresses)
    {
        foreach (var address in addresses)
            Add(name, IPAddress.Parse(address).AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "AAAA" : "A", address);
        return this;
    }

    public FakeSpfDns Mx(string name, int preference, string exchange) => Add(name, "MX", (preference, exchange));

    public FakeSpfDns Ptr(string name, string target) => Add(name, "PTR", target);

    public FakeSpfDns Timeout(string name) => Add(name, "TIMEOUT", null);

    /// <summary>Adds one entry: type "TIMEOUT" for a bare timeout; values: string (A, AAAA, PTR, CNAME), string[] (TXT), (int, string) (MX).</summary>
    public FakeSpfDns Add(string name, string type, object? value)
    {
        name = name.TrimEnd('.');
        if (!_zone.TryGetValue(name, out var entries))
            _zone[name] = entries = [];
        entries.Add((type, value));
        return this;
    }

    public Task<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken = default)
    {
        lock (Queries)
            Queries.Add((name, type));
        return Task.FromResult(Resolve(name.TrimEnd('.'), type, depth: 0));
    }

    private DnsAnswer Resolve(string name, DnsRecordType type, int depth)
    {
        if (depth > 10)
            return new DnsAnswer(DnsStatus.ServerFailure, [], false);
        if (name.Split('.').Any(l => l.Length > 63))
            return new DnsAnswer(DnsStatus.Malformed, [], false);
        if (!_zone.TryGetValue(name, out var entries))
            return new DnsAnswer(name.StartsWith("error.", StringComparison.OrdinalIgnoreCase) ? DnsStatus.Timeout : DnsStatus.NxDomain, [], false);
        var records = new List<DnsRecord>();
        var wanted = type.ToString();
        foreach (var (entryType, value) in entries)
        {
            if (entryType == "TIMEOUT")
            {
                if (records.Count == 0)
                    return new DnsAnswer(DnsStatus.Timeout, [], false);
                break;
            }
            if (entryType == "CNAME" && type != DnsRecordType.CNAME)
            {
                var target = Resolve(((string)value!).TrimEnd('.'), type, depth + 1);
                if (target.Status != DnsStatus.NoData && target.Status != DnsStatus.NxDomain)
                    return target;
                continue;
            }
            if (entryType != wanted)
                continue;
            if (value is "TIMEOUT")
                return new DnsAnswer(DnsStatus.Timeout, [], false);
            records.Add(entryType switch
            {
                "A" or "AAAA" => new AddressRecord(name, Ttl, IPAddress.Parse((string)value!)),
                "TXT" => new TxtRecord(name, Ttl, ((string[])value!).Select(s => Encoding.UTF8.GetBytes(s)).ToList()),
                "MX" => new MxRecord(name, Ttl, (ushort)(((int, string))value!).Item1, (((int, string))value!).Item2.TrimEnd('.')),
                "PTR" => new PtrRecord(name, Ttl, ((string)value!).TrimEnd('.')),
                "CNAME" => new CnameRecord(name, Ttl, ((string)value!).TrimEnd('.')),
                _ => throw new InvalidOperationException($"record type {entryType} is not supported by {nameof(FakeSpfDns)}"),
            });
        }
        return new DnsAnswer(records.Count > 0 ? DnsStatus.Ok : DnsStatus.NoData, records, false);
    }
}
