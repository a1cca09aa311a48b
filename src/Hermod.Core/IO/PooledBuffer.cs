using System.Buffers;

namespace Hermod.Core.IO;

/// <summary>
/// A growable buffer rented from the shared array pool, written as an <see cref="IBufferWriter{T}"/>: what a body
/// writer holds between two chunks. It grows only when a write asks for more than is left.
/// </summary>
public sealed class PooledBuffer(int initialSize) : IBufferWriter<byte>
{
    private byte[] _array = ArrayPool<byte>.Shared.Rent(initialSize);

    /// <summary>Bytes written since the buffer was last taken or cleared.</summary>
    public int Count { get; private set; }

    public ArraySegment<byte> Written => new(_array, 0, Count);

    public void Advance(int count) => Count += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(Count);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(Count);
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_array.Length - Count >= sizeHint)
            return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_array.Length * 2, Count + sizeHint));
        _array.AsSpan(0, Count).CopyTo(bigger);
        Return();
        _array = bigger;
    }

    /// <summary>Starts again, keeping the array.</summary>
    public void Clear() => Count = 0;

    /// <summary>
    /// Hands the array and what was written over (the taker returns the array to the pool) and starts again with a new
    /// array of <paramref name="nextSize"/> bytes — none when 0.
    /// </summary>
    public (byte[] Data, int Count) Take(int nextSize)
    {
        var taken = (_array, Count);
        _array = nextSize == 0 ? [] : ArrayPool<byte>.Shared.Rent(nextSize);
        Count = 0;
        return taken;
    }

    /// <summary>Gives the array back to the pool; the buffer is empty after.</summary>
    public void Release()
    {
        Return();
        _array = [];
        Count = 0;
    }

    private void Return()
    {
        if (_array.Length > 0) // not the empty one after the last chunk was taken
            ArrayPool<byte>.Shared.Return(_array);
    }
}
