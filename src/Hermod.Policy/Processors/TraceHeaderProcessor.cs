using System.Buffers;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Core.Text;

namespace Hermod.Policy.Processors;

/// <summary>trace_header: the RFC 5321 4.4 Received header (protocol names per RFC 3848 and RFC 6531), in front of the message.</summary>
public sealed class TraceHeaderProcessor : IStreamProcessor
{
    public string Name => "trace_header";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob) => new Filter(context);

    public static string Received(BodyContext c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var from = c.Helo.Length > 0 ? $"{c.Helo} ([{c.ClientAddress}])" : $"[{c.ClientAddress}]";
        var tls = c.TlsDetails is null ? "" : $"\r\n\t({c.TlsDetails})";
        var forClause = c.Recipients.Count == 1 ? $"\r\n\tfor <{c.Recipients[0]}>" : "";
        return $"Received: from {from}{tls}\r\n\tby {c.Hostname} (Hermod) with {c.Protocol} id {c.MessageId}{forClause};\r\n\t{Rfc5322.Date(c.Received)}\r\n";
    }

    private sealed class Filter(BodyContext context) : IBodyFilter
    {
        public bool PrefixKnownAtStart => true;

        public string Prefix { get; } = Received(context);

        public bool PassesThrough => true;

        public SmtpReply? Complete(IBufferWriter<byte> next) => null;
    }
}
