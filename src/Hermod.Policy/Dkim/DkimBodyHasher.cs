using System.Security.Cryptography;

namespace Hermod.Policy.Dkim;

/// <summary>
/// Canonicalizes a message body (RFC 6376 sections 3.4.3 and 3.4.4) and hashes it with SHA-256 as it streams: the
/// body is fed in chunks of any size, split anywhere, and never held whole. Trailing empty lines are only counted
/// until a non-empty line shows they were not trailing. An optional length limit (the <c>l=</c> tag) stops hashing
/// after that many canonical bytes; <see cref="CanonicalLength"/> still counts all of them.
/// </summary>
public sealed class DkimBodyHasher : IDisposable
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly bool _relaxed;
    private readonly long _limit;
    private readonly byte[] _buffer = new byte[4096];
    private int _buffered;
    private bool _pendingCr;
    private bool _pendingWsp;
    private bool _lineHasContent;
    private long _emptyLines;
    private long _hashed;
    private byte[]? _result;

    /// <param name="canonicalization">The body canonicalization.</param>
    /// <param name="limit">The <c>l=</c> value: hash only this many canonical bytes; null for all.</param>
    public DkimBodyHasher(DkimCanonicalization canonicalization, long? limit = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit ?? 0, nameof(limit));
        _relaxed = canonicalization == DkimCanonicalization.Relaxed;
        _limit = limit ?? long.MaxValue;
    }

    /// <summary>The length of the whole canonical body so far (at the end: all of it, whatever the limit).</summary>
    public long CanonicalLength { get; private set; }

    /// <summary>Feeds the next bytes of the body.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (_result is not null)
            throw new InvalidOperationException("the body hash is already finished");
        foreach (var b in data)
        {
            if (_pendingCr)
            {
                _pendingCr = false;
                if (b == Lf)
                {
                    EndLine();
                    continue;
                }
                Content(Cr);
            }
            if (b == Cr)
                _pendingCr = true;
            else if (_relaxed && b is (byte)' ' or (byte)'\t')
                _pendingWsp = true;
            else
                Content(b);
        }
    }

    /// <summary>Ends the body and returns its SHA-256 hash (the <c>bh=</c> value, before base64).</summary>
    public byte[] Finish()
    {
        if (_result is not null)
            return _result;
        if (_pendingCr)
        {
            _pendingCr = false;
            Content(Cr);
        }
        _pendingWsp = false;
        if (_lineHasContent)
            EndLine(); // a last line without CRLF gets one
        if (!_relaxed && CanonicalLength == 0)
            Emit(Cr, Lf); // simple: an empty body is one CRLF
        Flush();
        _result = _hash.GetHashAndReset();
        return _result;
    }

    private void Content(byte b)
    {
        if (!_lineHasContent)
        {
            for (; _emptyLines > 0; _emptyLines--)
                Emit(Cr, Lf);
            _lineHasContent = true;
        }
        if (_pendingWsp)
        {
            _pendingWsp = false;
            Emit((byte)' ');
        }
        Emit(b);
    }

    private void EndLine()
    {
        _pendingWsp = false;
        if (_lineHasContent)
        {
            Emit(Cr, Lf);
            _lineHasContent = false;
        }
        else
        {
            _emptyLines++;
        }
    }

    private void Emit(byte a, byte b)
    {
        Emit(a);
        Emit(b);
    }

    private void Emit(byte b)
    {
        CanonicalLength++;
        if (_hashed >= _limit)
            return;
        _hashed++;
        _buffer[_buffered++] = b;
        if (_buffered == _buffer.Length)
            Flush();
    }

    private void Flush()
    {
        _hash.AppendData(_buffer, 0, _buffered);
        _buffered = 0;
    }

    public void Dispose() => _hash.Dispose();
}
