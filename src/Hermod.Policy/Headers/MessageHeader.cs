using System.Buffers;
using System.Text;

namespace Hermod.Policy.Headers;

/// <summary>
/// The header block of a message, editable by modifiers. Bytes are kept one char per byte (Latin-1), so fields
/// that are not touched are written back exactly as received.
/// </summary>
public sealed class MessageHeader
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    private readonly List<HeaderField> _fields;

    private MessageHeader(List<HeaderField> fields) => _fields = fields;

    public IReadOnlyList<HeaderField> Fields => _fields;

    /// <summary>True once a field was added or removed.</summary>
    public bool Changed { get; private set; }

    /// <summary>The value of the first field named <paramref name="name"/>, or null.</summary>
    public string? Get(string name) => _fields.Find(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))?.Value;

    /// <summary>Adds a field at the top (where trace and signature fields go).</summary>
    public void Prepend(HeaderField field)
    {
        _fields.Insert(0, field);
        Changed = true;
    }

    public void Prepend(string name, string value) => Prepend(HeaderField.Create(name, value));

    /// <summary>Adds a field at the end of the header block.</summary>
    public void Append(string name, string value)
    {
        _fields.Add(HeaderField.Create(name, value));
        Changed = true;
    }

    /// <summary>Puts <paramref name="replacement"/> where <paramref name="field"/> is (e.g. a rewritten Subject); false when the header has no such field.</summary>
    public bool Replace(HeaderField field, HeaderField replacement)
    {
        var index = _fields.IndexOf(field);
        if (index < 0)
            return false;
        _fields[index] = replacement;
        Changed = true;
        return true;
    }

    /// <summary>Removes every field named <paramref name="name"/>; returns how many.</summary>
    public int Remove(string name)
    {
        var removed = _fields.RemoveAll(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        Changed |= removed > 0;
        return removed;
    }

    /// <summary>The header block with its empty line: what precedes the body.</summary>
    public byte[] ToBytes()
    {
        var text = new StringBuilder();
        foreach (var field in _fields)
            text.Append(field.Raw);
        text.Append("\r\n");
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    /// <summary>Parses a header block (CRLF line ends; the empty line optional). Lines that are not fields are kept with an empty name.</summary>
    public static MessageHeader Parse(ReadOnlySpan<byte> block)
    {
        var text = Encoding.Latin1.GetString(block);
        var fields = new List<HeaderField>();
        var start = 0;
        while (start < text.Length)
        {
            if (text.AsSpan(start).StartsWith("\r\n", StringComparison.Ordinal))
                break; // the empty line
            var end = start;
            do
            {
                var lineEnd = text.IndexOf("\r\n", end, StringComparison.Ordinal);
                end = lineEnd < 0 ? text.Length : lineEnd + 2;
            }
            while (end < text.Length && text[end] is ' ' or '\t');
            var raw = text[start..end];
            if (!raw.EndsWith("\r\n", StringComparison.Ordinal))
                raw += "\r\n";
            var colon = raw.IndexOf(':', StringComparison.Ordinal);
            fields.Add(new HeaderField(colon > 0 ? raw[..colon].TrimEnd() : "", raw));
            start = end;
        }
        return new MessageHeader(fields);
    }

    /// <summary>
    /// Reads the header block at the start of <paramref name="message"/>. Returns the header and the number of bytes it
    /// took (its empty line included: where the body starts), or null when the block is longer than <paramref name="maxBytes"/>.
    /// A message without an empty line is all header.
    /// </summary>
    public static async Task<(MessageHeader Header, int Length)?> ReadAsync(Stream message, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + HeaderEnd.Length, 64 * 1024));
        var length = 0;
        try
        {
            while (true)
            {
                if (length >= 2 && buffer[0] == '\r' && buffer[1] == '\n')
                    return (Parse([]), 2);
                var end = buffer.AsSpan(0, length).IndexOf(HeaderEnd);
                if (end >= 0)
                    return end + 4 > maxBytes + 2 ? null : (Parse(buffer.AsSpan(0, end + 2)), end + 4);
                if (length > maxBytes + HeaderEnd.Length)
                    return null;
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + HeaderEnd.Length + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await message.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                    return length > maxBytes ? null : (Parse(buffer.AsSpan(0, length)), length);
                length += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
