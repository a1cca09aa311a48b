using System.Buffers;

namespace Hermod.Smtp.Tests.TestKit;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/> values, the shape a pipe hands a parser.</summary>
public static class Segments
{
    /// <summary>One segment per array, in order; empty arrays make empty segments.</summary>
    public static ReadOnlySequence<byte> Of(params byte[][] parts)
    {
        if (parts.Length == 0)
            return ReadOnlySequence<byte>.Empty;
        var first = new Segment(parts[0], 0);
        var last = first;
        for (var i = 1; i < parts.Length; i++)
            last = last.Append(parts[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary><paramref name="bytes"/> cut at each of <paramref name="cuts"/> (ascending offsets).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, params int[] cuts)
    {
        var parts = new byte[cuts.Length + 1][];
        var start = 0;
        for (var i = 0; i < cuts.Length; i++)
        {
            parts[i] = bytes[start..cuts[i]];
            start = cuts[i];
        }
        parts[^1] = bytes[start..];
        return Of(parts);
    }

    /// <summary>Every way to cut <paramref name="length"/> bytes into two pieces, then into three (cuts may coincide).</summary>
    public static IEnumerable<int[]> AllCuts(int length)
    {
        for (var i = 0; i <= length; i++)
            yield return [i];
        for (var i = 0; i <= length; i++)
            for (var j = i; j <= length; j++)
                yield return [i, j];
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
