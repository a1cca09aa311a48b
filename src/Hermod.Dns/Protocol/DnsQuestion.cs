using System.Diagnostics.CodeAnalysis;

namespace Hermod.Dns.Protocol;

/// <summary>What we ask: the name on the wire, its canonical text (to compare with names in answers) and the type.</summary>
internal sealed class DnsQuestion
{
    private DnsQuestion(byte[] wireName, string name, DnsRecordType type)
    {
        WireName = wireName;
        Name = name;
        Type = type;
    }

    public byte[] WireName { get; }

    public string Name { get; }

    public DnsRecordType Type { get; }

    /// <summary>False when the name cannot be a query name (see <see cref="DnsName.TryEncode"/>).</summary>
    public static bool TryCreate(string name, DnsRecordType type, [NotNullWhen(true)] out DnsQuestion? question)
    {
        question = null;
        if (!DnsName.TryEncode(name, out var wire))
            return false;
        question = new DnsQuestion(wire, DnsName.ToText(wire), type);
        return true;
    }
}
