using System.Buffers;

namespace Hermod.Benchmarks;

/// <summary>Splits a buffer into a <see cref="ReadOnlySequence{T}"/> of fixed-size segments, as a pipe delivers it.</summary>
public static class Segments
{
    public static ReadOnlySequence<byte> Split(ReadOnlyMemory<byte> data, int segmentSize)
    {
        if (data.Length <= segmentSize)
            return new ReadOnlySequence<byte>(data);
        var first = new Segment(data[..segmentSize], 0);
        var last = first;
        for (var offset = segmentSize; offset < data.Length; offset += segmentSize)
            last = last.Append(data[offset..Math.Min(offset + segmentSize, data.Length)]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
