using System.Buffers;

using Hermod.Core.IO;

namespace Hermod.Smtp.Client;

/// <summary>
/// The write side of DATA (RFC 5321 4.5.2): message content goes in, dot-stuffed content goes out through a
/// fixed buffer, in sends of at most the buffer's size. <see cref="CompleteAsync"/> adds the final CRLF when the
/// content lacks one, then "." CRLF. State carries across writes, so any split of the content gives the same bytes.
/// A '.' is doubled at the start of the content and after every LF or CR — a bare LF or CR included, so content
/// with stray line endings cannot end the data early at a lenient server (SMTP smuggling).
/// </summary>
internal sealed class DotStuffingStream : AsyncWriteStream
{
    private static readonly byte[] Dot = ".\r\n"u8.ToArray();
    private static readonly byte[] CrLfDot = "\r\n.\r\n"u8.ToArray();

    private readonly Func<ReadOnlyMemory<byte>, ValueTask> _send;
    private byte[]? _buffer;
    private int _count;
    private byte _last = (byte)'\n'; // the start of the content is the start of a line
    private byte _beforeLast;
    private bool _completed;

    public DotStuffingStream(int bufferSize, Func<ReadOnlyMemory<byte>, ValueTask> send)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 8);
        _send = send;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        Capacity = bufferSize;
    }

    private int Capacity { get; }

    /// <summary>Content octets written (before stuffing).</summary>
    public long ContentLength { get; private set; }

    public override bool CanWrite => !_completed && _buffer is not null;
    protected override long BytesWritten => ContentLength;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed || _buffer is null, this);
        while (!buffer.IsEmpty)
        {
            var used = Stuff(buffer.Span);
            buffer = buffer[used..];
            if (Capacity - _count < 2)
                await SendBufferAsync();
        }
    }

    /// <summary>Ends the data: CRLF if the content did not end with one, then "." CRLF; sends what is buffered.</summary>
    public async ValueTask CompleteAsync()
    {
        ObjectDisposedException.ThrowIf(_completed || _buffer is null, this);
        _completed = true;
        var end = ContentLength == 0 || (_beforeLast == '\r' && _last == '\n') ? Dot : CrLfDot;
        if (Capacity - _count < end.Length)
            await SendBufferAsync();
        end.CopyTo(_buffer.AsSpan(_count));
        _count += end.Length;
        await SendBufferAsync();
    }

    /// <summary>Copies (and stuffs) as much of <paramref name="input"/> as fits; returns the input octets consumed.</summary>
    private int Stuff(ReadOnlySpan<byte> input)
    {
        var buffer = _buffer!;
        var i = 0;
        while (i < input.Length && Capacity - _count >= 2)
        {
            if (input[i] == '.' && _last is (byte)'\n' or (byte)'\r')
                buffer[_count++] = (byte)'.';
            // Up to and including the next CR or LF: no line starts inside the run.
            var rest = input[i..];
            var k = rest.IndexOfAny((byte)'\r', (byte)'\n');
            var run = Math.Min(k < 0 ? rest.Length : k + 1, Capacity - _count);
            rest[..run].CopyTo(buffer.AsSpan(_count));
            _count += run;
            _beforeLast = run >= 2 ? rest[run - 2] : _last;
            _last = rest[run - 1];
            i += run;
        }
        ContentLength += i;
        return i;
    }

    private async ValueTask SendBufferAsync()
    {
        if (_count == 0)
            return;
        var count = _count;
        _count = 0;
        await _send(_buffer.AsMemory(0, count));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
        base.Dispose(disposing);
    }

}
