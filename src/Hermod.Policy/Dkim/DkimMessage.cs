using System.Buffers;
using System.Text;

namespace Hermod.Policy.Dkim;

/// <summary>One header field as it appears in the message: <see cref="Raw"/> holds the whole field, folding and final CRLF included (Latin-1, one char per byte).</summary>
internal sealed record DkimHeaderField(string Name, string Raw);

/// <summary>
/// The header block of a message read from a stream (bounded), and the body bytes read past it. The caller goes on
/// reading the body from the same stream after <see cref="BodyStart"/>.
/// </summary>
internal sealed class DkimMessage : IDisposable
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    private byte[] _buffer;

    private DkimMessage(byte[] buffer, List<DkimHeaderField> fields, int bodyStart, int length)
    {
        _buffer = buffer;
        Fields = fields;
        BodyStart = bodyStart;
        Length = length;
    }

    public IReadOnlyList<DkimHeaderField> Fields { get; }

    private int BodyStart { get; }

    private int Length { get; }

    /// <summary>The body bytes that were read together with the header block.</summary>
    public ReadOnlySpan<byte> BodyPrefix => _buffer.AsSpan(BodyStart, Length - BodyStart);

    /// <summary>
    /// Reads the header block (up to and including the empty line) of <paramref name="message"/>. Returns null when it
    /// is longer than <paramref name="maxHeaderBytes"/>. A message without an empty line is all header.
    /// </summary>
    public static async Task<DkimMessage?> ReadAsync(Stream message, int maxHeaderBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxHeaderBytes + HeaderEnd.Length, 16 * 1024));
        var length = 0;
        var scanned = 0;
        try
        {
            while (true)
            {
                if (length >= 2 && buffer[0] == '\r' && buffer[1] == '\n')
                    return Create(buffer, headerLength: 0, bodyStart: 2, length);
                var found = buffer.AsSpan(scanned, length - scanned).IndexOf(HeaderEnd);
                var end = found < 0 ? -1 : scanned + found;
                scanned = Math.Max(0, length - HeaderEnd.Length + 1);
                if (end >= 0)
                {
                    if (end + 2 > maxHeaderBytes)
                        return Release(buffer);
                    return Create(buffer, headerLength: end + 2, bodyStart: end + 4, length);
                }
                if (length > maxHeaderBytes + HeaderEnd.Length)
                    return Release(buffer);
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxHeaderBytes + HeaderEnd.Length + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await message.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    if (length > maxHeaderBytes)
                        return Release(buffer);
                    return Create(buffer, headerLength: length, bodyStart: length, length);
                }
                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static DkimMessage? Release(byte[] buffer)
    {
        ArrayPool<byte>.Shared.Return(buffer);
        return null;
    }

    private static DkimMessage Create(byte[] buffer, int headerLength, int bodyStart, int length) =>
        new(buffer, ParseFields(Encoding.Latin1.GetString(buffer, 0, headerLength)), bodyStart, length);

    /// <summary>Splits a header block (Latin-1) into fields; continuation lines join the field above.</summary>
    public static List<DkimHeaderField> ParseFields(string headers)
    {
        var fields = new List<DkimHeaderField>();
        var start = -1;
        var position = 0;
        while (position < headers.Length)
        {
            var lineEnd = headers.IndexOf("\r\n", position, StringComparison.Ordinal);
            var next = lineEnd < 0 ? headers.Length : lineEnd + 2;
            var continuation = headers[position] is ' ' or '\t';
            if (!continuation)
            {
                if (start >= 0)
                    fields.Add(Field(headers[start..position]));
                start = position;
            }
            else if (start < 0)
            {
                start = position; // a leading continuation line: keep it as a (nameless) field
            }
            position = next;
        }
        if (start >= 0)
            fields.Add(Field(headers[start..]));
        return fields;
    }

    private static DkimHeaderField Field(string raw)
    {
        var colon = raw.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? "" : raw[..colon].TrimEnd(' ', '\t');
        return new DkimHeaderField(name, raw);
    }

    /// <summary>
    /// The data the header hash covers (RFC 6376 section 3.7): the fields named in <paramref name="signedNames"/>,
    /// each taken from the bottom up (a name listed more often than it occurs adds nothing: oversigning), then the
    /// DKIM-Signature field itself (its b= value already removed) without its final CRLF.
    /// </summary>
    public static string HeaderHashInput(IReadOnlyList<DkimHeaderField> fields, IReadOnlyList<string> signedNames,
        DkimCanonicalization canonicalization, string signatureField, DkimHeaderField? exclude = null)
    {
        var output = new StringBuilder();
        var used = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in signedNames)
        {
            used.TryGetValue(name, out var skip);
            used[name] = skip + 1;
            for (var i = fields.Count - 1; i >= 0; i--)
            {
                if (ReferenceEquals(fields[i], exclude) || !fields[i].Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                    continue;
                if (skip-- > 0)
                    continue;
                DkimHeaderCanonicalizer.Append(output, fields[i].Raw, canonicalization);
                break;
            }
        }
        var signature = DkimHeaderCanonicalizer.Canonicalize(signatureField, canonicalization);
        if (signature.EndsWith("\r\n", StringComparison.Ordinal))
            signature = signature[..^2];
        output.Append(signature);
        return output.ToString();
    }

    /// <summary>The field with the value of its b= tag removed (whitespace around it too) and without its final CRLF.</summary>
    public static string WithoutSignatureValue(string raw)
    {
        if (raw.EndsWith("\r\n", StringComparison.Ordinal))
            raw = raw[..^2];
        var colon = raw.IndexOf(':', StringComparison.Ordinal);
        var position = colon + 1;
        while (position < raw.Length)
        {
            var semicolon = raw.IndexOf(';', position);
            var end = semicolon < 0 ? raw.Length : semicolon;
            var equals = raw.IndexOf('=', position, end - position);
            if (equals > 0 && raw.AsSpan(position, equals - position).Trim(" \t\r\n").SequenceEqual("b"))
                return string.Concat(raw.AsSpan(0, equals + 1), raw.AsSpan(end));
            position = end + 1;
        }
        return raw;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
    }
}
