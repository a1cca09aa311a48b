using System.Buffers;
using Hermod.Core.Pipeline;

namespace Hermod.Smtp.Server;

/// <summary>The body as the DATA filter gives it: into storage, and a copy to the next hops taking it while it arrives (cut-through).</summary>
internal sealed class ContentTee(IBufferWriter<byte> storage, ICutThroughContent nextHops) : IBufferWriter<byte>
{
    private Memory<byte> _handedOut;

    public Memory<byte> GetMemory(int sizeHint = 0) => _handedOut = storage.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public void Advance(int count)
    {
        nextHops.Write(_handedOut.Span[..count]);
        storage.Advance(count);
    }
}
