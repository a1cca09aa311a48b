using System.Buffers;
using System.Text;

namespace Hermod.Policy.Dkim;

/// <summary>Settings of a <see cref="DkimSigner"/>.</summary>
public sealed class DkimSignerOptions
{
    /// <summary>The header fields signed when present (each occurrence once).</summary>
    public List<string> SignedHeaders { get; set; } =
    [
        "From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To", "References",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    ];

    /// <summary>Fields listed once more than they occur (always, present or not), so that none can be added later.</summary>
    public List<string> OversignedHeaders { get; set; } = ["From"];

    public DkimCanonicalization HeaderCanonicalization { get; set; } = DkimCanonicalization.Relaxed;

    public DkimCanonicalization BodyCanonicalization { get; set; } = DkimCanonicalization.Relaxed;

    /// <summary>When set, signatures carry x= (expiration) this long after t=.</summary>
    public TimeSpan? Expiration { get; set; }

    /// <summary>Longest header block read; a longer one fails the signing.</summary>
    public int MaxHeaderBytes { get; set; } = 1024 * 1024;
}

/// <summary>
/// Writes DKIM-Signature fields (RFC 6376, RFC 8463). The message streams through: its header block is read
/// (bounded) and its body hashed in chunks. l= is never written.
/// </summary>
public sealed class DkimSigner
{
    private const int FoldWidth = 76;

    private readonly DkimSignerOptions _options;
    private readonly TimeProvider _time;

    public DkimSigner(DkimSignerOptions? options = null, TimeProvider? time = null)
    {
        _options = options ?? new DkimSignerOptions();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Signs <paramref name="message"/> (header block, empty line, body; CRLF line ends) and returns the field to
    /// prepend: "DKIM-Signature: ..." folded, ending with CRLF.
    /// </summary>
    public async Task<string> SignAsync(Stream message, DkimSigningKey key, CancellationToken cancellationToken = default)
    {
        using var parsed = await DkimMessage.ReadAsync(message, _options.MaxHeaderBytes, cancellationToken)
            ?? throw new InvalidDataException($"the header block is longer than {_options.MaxHeaderBytes} bytes");
        using var body = new DkimBodyHasher(_options.BodyCanonicalization);
        body.Append(parsed.BodyPrefix);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await message.ReadAsync(buffer, cancellationToken)) > 0)
                body.Append(buffer.AsSpan(0, read));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Sign(parsed.Fields, body.Finish(), key);
    }

    /// <summary>
    /// Signs a header block (<paramref name="headerBlock"/>, CRLF line ends, the empty line optional) whose body was
    /// hashed separately by a <see cref="CreateBodyHasher"/> hasher — for callers that stream the body elsewhere.
    /// </summary>
    public string Sign(ReadOnlySpan<byte> headerBlock, ReadOnlySpan<byte> bodyHash, DkimSigningKey key) =>
        Sign(DkimMessage.ParseFields(Encoding.Latin1.GetString(headerBlock)), bodyHash.ToArray(), key);

    /// <summary>A body hasher with this signer's body canonicalization.</summary>
    public DkimBodyHasher CreateBodyHasher() => new(_options.BodyCanonicalization);

    private string Sign(IReadOnlyList<DkimHeaderField> fields, byte[] bodyHash, DkimSigningKey key)
    {
        var signed = SignedNames(fields);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var tags = new List<string>
        {
            "v=1",
            "a=" + key.AlgorithmName,
            $"c={DkimHeaderCanonicalizer.Name(_options.HeaderCanonicalization)}/{DkimHeaderCanonicalizer.Name(_options.BodyCanonicalization)}",
            "d=" + key.Domain,
            "s=" + key.Selector,
            "t=" + now,
        };
        if (_options.Expiration is { } expiration)
            tags.Add("x=" + (now + (long)Math.Ceiling(expiration.TotalSeconds)));
        var field = new StringBuilder("DKIM-Signature:");
        var column = field.Length;
        foreach (var tag in tags)
            AppendToken(field, ref column, " " + tag + ";");
        AppendToken(field, ref column, " h=");
        for (var i = 0; i < signed.Count; i++)
            AppendToken(field, ref column, signed[i] + (i == signed.Count - 1 ? ";" : ":"), fold: i > 0);
        AppendToken(field, ref column, " bh=" + Convert.ToBase64String(bodyHash) + ";");
        AppendToken(field, ref column, " b=");
        var unsigned = field.ToString();
        var data = DkimMessage.HeaderHashInput(fields, signed, _options.HeaderCanonicalization, unsigned);
        var signature = Convert.ToBase64String(key.Sign(Encoding.Latin1.GetBytes(data)));
        // Folded inside the b= value: verifiers drop the value with its whitespace, so the hashed form stays "b=".
        for (var i = 0; i < signature.Length;)
        {
            var room = FoldWidth - column;
            if (room <= 8)
            {
                field.Append("\r\n\t ");
                column = 2;
                continue;
            }
            var take = Math.Min(room, signature.Length - i);
            field.Append(signature, i, take);
            column += take;
            i += take;
        }
        return field.Append("\r\n").ToString();
    }

    private static void AppendToken(StringBuilder field, ref int column, string token, bool fold = true)
    {
        if (fold && column + token.Length > FoldWidth && column > 1)
        {
            field.Append("\r\n\t");
            column = 1;
            if (token.StartsWith(' '))
                token = token[1..];
        }
        field.Append(token);
        column += token.Length;
    }

    private List<string> SignedNames(IReadOnlyList<DkimHeaderField> fields)
    {
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in _options.SignedHeaders.Concat(_options.OversignedHeaders))
        {
            if (!seen.Add(name))
                continue;
            var lower = name.Trim().ToLowerInvariant();
            foreach (var f in fields)
            {
                if (f.Name.Equals(lower, StringComparison.OrdinalIgnoreCase))
                    names.Add(lower);
            }
            if (_options.OversignedHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
                names.Add(lower);
        }
        if (!names.Contains("from"))
            names.Insert(0, "from");
        return names;
    }
}
