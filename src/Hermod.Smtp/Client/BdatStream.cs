using System.Buffers;
using System.Globalization;
using System.Text;
using Hermod.Core.IO;
using Hermod.Core.Smtp;

namespace Hermod.Smtp.Client;

/// <summary>
/// The write side of CHUNKING (RFC 3030): content goes in, "BDAT n" chunks of a fixed size go out; the last one,
/// sent by <see cref="CompleteAsync"/>, is "BDAT n LAST". Up to <c>window</c> chunks are sent ahead of their replies
/// (1 without PIPELINING). When the server refuses a chunk no further chunk is sent (RFC 3030 2) and writes throw:
/// <see cref="Failure"/> says why.
/// </summary>
internal sealed class BdatStream : AsyncWriteStream
{
    private const int HeaderRoom = 32; // "BDAT 67108864 LAST\r\n" fits

    private readonly int _chunkSize;
    private readonly int _window;
    private readonly Func<ReadOnlyMemory<byte>, string, ValueTask> _sendChunk;
    private readonly Func<ValueTask<SmtpReply>> _readChunkReply;
    private byte[]? _buffer;
    private int _count;
    private int _outstanding;
    private bool _closing;
    private bool _completed;

    /// <param name="sendChunk">Sends one chunk, command line included; the string is the command for the transcript.</param>
    /// <param name="readChunkReply">Reads the reply to one non-last chunk.</param>
    public BdatStream(int chunkSize, int window, Func<ReadOnlyMemory<byte>, string, ValueTask> sendChunk, Func<ValueTask<SmtpReply>> readChunkReply)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        _chunkSize = chunkSize;
        _window = window;
        _sendChunk = sendChunk;
        _readChunkReply = readChunkReply;
        _buffer = ArrayPool<byte>.Shared.Rent(HeaderRoom + chunkSize);
    }

    /// <summary>The first refusal of a chunk (any non-2xx reply).</summary>
    public SmtpReply? Failure { get; private set; }

    /// <summary>Content octets written.</summary>
    public long ContentLength { get; private set; }

    /// <summary>Whether "BDAT n LAST" went out (the transaction is over at the server).</summary>
    public bool LastSent { get; private set; }

    public override bool CanWrite => !_completed && _buffer is not null;
    protected override long BytesWritten => ContentLength;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed || _buffer is null, this);
        ThrowIfRefused();
        while (!buffer.IsEmpty)
        {
            if (_count == _chunkSize)
            {
                await SendChunkAsync(last: false);
                ThrowIfRefused();
            }
            var n = Math.Min(buffer.Length, _chunkSize - _count);
            buffer.Span[..n].CopyTo(_buffer.AsSpan(HeaderRoom + _count));
            _count += n;
            ContentLength += n;
            buffer = buffer[n..];
        }
    }

    /// <summary>
    /// Sends the last chunk (unless a chunk was refused), reads every outstanding reply, and returns the reply that
    /// ends the transaction: the first refusal, else the reply to BDAT LAST read by <paramref name="readFinal"/>.
    /// </summary>
    public async ValueTask<SmtpReply> CompleteAsync(Func<ValueTask<SmtpReply>> readFinal)
    {
        ObjectDisposedException.ThrowIf(_completed || _buffer is null, this);
        _completed = true;
        if (Failure is null)
        {
            await SendChunkAsync(last: true);
            LastSent = true;
        }
        while (_outstanding > 0 && !_closing)
            await ReadOneAsync();
        if (!LastSent || _closing)
            return Failure!;
        var final = await readFinal();
        return Failure ?? final;
    }

    private void ThrowIfRefused()
    {
        if (Failure is not null)
            throw new IOException($"The server refused a BDAT chunk: {Failure}");
    }

    private async ValueTask SendChunkAsync(bool last)
    {
        var buffer = _buffer!;
        var command = last ? $"BDAT {_count.ToString(CultureInfo.InvariantCulture)} LAST" : $"BDAT {_count.ToString(CultureInfo.InvariantCulture)}";
        var header = Encoding.ASCII.GetBytes(command + "\r\n");
        var start = HeaderRoom - header.Length;
        header.CopyTo(buffer, start);
        var length = header.Length + _count;
        _count = 0;
        await _sendChunk(buffer.AsMemory(start, length), command);
        if (last)
            return;
        _outstanding++;
        while (_outstanding >= _window && !_closing)
            await ReadOneAsync();
    }

    private async ValueTask ReadOneAsync()
    {
        var reply = await _readChunkReply();
        _outstanding--;
        if (reply.Code is < 200 or >= 300)
            Failure ??= reply;
        if (reply.Code == 421)
            _closing = true; // the server is gone: no further reply will come
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
