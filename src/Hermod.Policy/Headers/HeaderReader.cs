using System.Buffers;
using System.Text;

namespace Hermod.Policy.Headers;

/// <summary>Reads the header block of a stored message with a byte limit, and the addresses of address fields.</summary>
internal static class HeaderReader
{
    /// <summary>
    /// The unfolded fields of the header block (up to the first empty line or the end of the message), or null when the
    /// block is longer than <paramref name="maxBytes"/>. Reads at most <paramref name="maxBytes"/> + 4 bytes.
    /// </summary>
    public static async Task<IReadOnlyList<KeyValuePair<string, string>>?> ReadAsync(Stream message, int maxBytes, CancellationToken cancellationToken)
    {
        var limit = maxBytes + 4;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit, 64 * 1024));
        try
        {
            var length = 0;
            var end = -1;
            while (end < 0)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length >= limit)
                        return null;
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await message.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit) - length), cancellationToken);
                if (read == 0)
                {
                    end = length;
                    break;
                }
                var from = Math.Max(0, length - 3);
                length += read;
                end = EndOfHeader(buffer.AsSpan(from, length - from));
                if (end >= 0)
                    end += from;
                else if (length >= limit)
                    return null;
            }
            if (end > maxBytes)
                return null;
            return Parse(Encoding.Latin1.GetString(buffer, 0, end));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The offset of the empty line that ends the header block ("\n\n" or "\n\r\n"), or -1.</summary>
    private static int EndOfHeader(ReadOnlySpan<byte> data)
    {
        for (var i = 0; i + 1 < data.Length; i++)
        {
            if (data[i] != (byte)'\n')
                continue;
            if (data[i + 1] == (byte)'\n')
                return i + 1;
            if (data[i + 1] == (byte)'\r' && i + 2 < data.Length && data[i + 2] == (byte)'\n')
                return i + 1;
        }
        return -1;
    }

    private static List<KeyValuePair<string, string>> Parse(string block)
    {
        var fields = new List<KeyValuePair<string, string>>();
        string? name = null;
        var value = new StringBuilder();
        foreach (var raw in block.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
                continue;
            if (line[0] is ' ' or '\t')
            {
                if (name is not null)
                    value.Append(line);
                continue;
            }
            if (name is not null)
                fields.Add(new(name, value.ToString().Trim()));
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                name = null; // not a field (e.g. an mbox "From " line): ignored
                continue;
            }
            name = line[..colon].TrimEnd();
            value.Clear().Append(line, colon + 1, line.Length - colon - 1);
        }
        if (name is not null)
            fields.Add(new(name, value.ToString().Trim()));
        return fields;
    }

    /// <summary>
    /// The addr-specs of an address list field value (RFC 5322 section 3.4): "A &lt;a@example.org&gt;, b@example.net" →
    /// [a@example.org, b@example.net]. Comments and quoted display names are skipped; group names are dropped.
    /// </summary>
    public static List<string> Addresses(string value)
    {
        var addresses = new List<string>();
        var current = new StringBuilder();
        string? angle = null;
        var inAngle = false;
        var angleText = new StringBuilder();
        var depth = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (depth > 0)
            {
                if (c == '\\')
                    i++;
                else if (c == '(')
                    depth++;
                else if (c == ')')
                    depth--;
                continue;
            }
            if (c == '"')
            {
                var target = inAngle ? angleText : current;
                target.Append(c);
                for (i++; i < value.Length && value[i] != '"'; i++)
                {
                    if (value[i] == '\\' && i + 1 < value.Length)
                        target.Append(value[i++]);
                    target.Append(value[i]);
                }
                target.Append('"');
                continue;
            }
            if (c == '(')
            {
                depth = 1;
                continue;
            }
            if (inAngle)
            {
                if (c == '>')
                {
                    inAngle = false;
                    angle = angleText.ToString();
                }
                else
                {
                    angleText.Append(c);
                }
                continue;
            }
            switch (c)
            {
                case '<':
                    inAngle = true;
                    angleText.Clear();
                    break;
                case ':':
                    current.Clear(); // a group's display name
                    break;
                case ',' or ';':
                    Flush();
                    break;
                default:
                    current.Append(c);
                    break;
            }
        }
        Flush();
        return addresses;

        void Flush()
        {
            var address = (angle ?? current.ToString()).Trim();
            var colon = address.LastIndexOf(':'); // obsolete source route "<@a,@b:user@example.org>"
            if (angle is not null && colon >= 0 && address.StartsWith('@'))
                address = address[(colon + 1)..];
            address = string.Concat(address.Where(ch => !char.IsWhiteSpace(ch)));
            if (address.Length > 0)
                addresses.Add(address);
            angle = null;
            current.Clear();
        }
    }
}
