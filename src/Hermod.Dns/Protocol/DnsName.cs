using System.Globalization;
using System.Text;

namespace Hermod.Dns.Protocol;

/// <summary>Domain names on the wire (RFC 1035 section 3.1 and 4.1.4). No I/O.</summary>
internal static class DnsName
{
    public const int MaxWireLength = 255;
    public const int MaxLabelLength = 63;

    private static readonly IdnMapping Idn = new();

    /// <summary>
    /// Writes <paramref name="name"/> as uncompressed labels. A trailing dot is optional; "" and "." are the root.
    /// Non-ASCII names are converted with IDNA (Punycode). False when a label is empty or too long, the whole name
    /// is too long, or IDNA rejects it.
    /// </summary>
    public static bool TryEncode(string name, out byte[] wire)
    {
        wire = [];
        if (name.Length > 0 && name[^1] == '.')
            name = name[..^1];
        if (name.Length == 0)
        {
            wire = [0];
            return true;
        }
        if (!Ascii.IsValid(name))
        {
            try
            {
                // The invariant-globalization IdnMapping does not case-fold; IDNA maps upper case to lower.
                name = Idn.GetAscii(name.ToLowerInvariant());
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
        if (name.Length + 2 > MaxWireLength)
            return false;
        var buffer = new byte[name.Length + 2];
        var position = 0;
        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > MaxLabelLength)
                return false;
            buffer[position++] = (byte)label.Length;
            position += Encoding.ASCII.GetBytes(label, buffer.AsSpan(position));
        }
        buffer[position] = 0;
        wire = buffer;
        return true;
    }

    /// <summary>
    /// Reads a possibly compressed name at <paramref name="position"/> and moves past it. Every compression pointer
    /// must point strictly before the labels it was reached from, so loops and forward pointers fail; the name may
    /// not exceed 255 octets. False for anything malformed (nothing is thrown).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> message, ref int position, out string name)
    {
        name = "";
        var sb = new StringBuilder(64);
        var p = position;
        var limit = position;       // a pointer must point below this
        var end = -1;               // where the caller continues: just after the first pointer or the root label
        var wireLength = 1;         // the root label
        while (true)
        {
            if (p >= message.Length)
                return false;
            var length = message[p];
            if (length == 0)
            {
                if (end < 0)
                    end = p + 1;
                break;
            }
            switch (length & 0xC0)
            {
                case 0xC0:
                    if (p + 1 >= message.Length)
                        return false;
                    var target = ((length & 0x3F) << 8) | message[p + 1];
                    if (target >= limit)
                        return false;
                    if (end < 0)
                        end = p + 2;
                    limit = target;
                    p = target;
                    break;
                case 0x00:
                    wireLength += length + 1;
                    if (wireLength > MaxWireLength || p + 1 + length > message.Length)
                        return false;
                    if (sb.Length > 0)
                        sb.Append('.');
                    AppendLabel(sb, message.Slice(p + 1, length));
                    p += 1 + length;
                    break;
                default:
                    return false; // 0x40 and 0x80: extended / reserved label types (or a "label" longer than 63)
            }
        }
        position = end;
        name = sb.Length == 0 ? "." : sb.ToString();
        return true;
    }

    /// <summary>The canonical text of a name written by <see cref="TryEncode"/> (or any uncompressed name).</summary>
    public static string ToText(ReadOnlySpan<byte> wire)
    {
        var position = 0;
        return TryRead(wire, ref position, out var name) ? name : throw new ArgumentException("not a DNS name", nameof(wire));
    }

    private static void AppendLabel(StringBuilder sb, ReadOnlySpan<byte> label)
    {
        foreach (var b in label)
        {
            if (b is > 0x20 and < 0x7F and not (byte)'.' and not (byte)'\\')
                sb.Append((char)b);
            else
                sb.Append('\\').Append(b.ToString("D3", CultureInfo.InvariantCulture));
        }
    }
}
