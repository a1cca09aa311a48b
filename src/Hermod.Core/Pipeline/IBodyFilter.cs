using System.Buffers;
using Hermod.Core.Smtp;

namespace Hermod.Core.Pipeline;

/// <summary>One body passing through one processor.</summary>
public interface IBodyFilter
{
    /// <summary>
    /// True when the filter only looks at the bytes, which go on unchanged: it is given them by <see cref="Observe"/>
    /// where they already lie in the next stage's buffer, and no copy is made.
    /// </summary>
    bool PassesThrough => false;

    /// <summary>A filter that <see cref="PassesThrough"/>: sees the next bytes of the body.</summary>
    void Observe(ReadOnlySpan<byte> data)
    {
    }

    /// <summary>Takes the next bytes of the body and writes them, or what it makes of them, to <paramref name="next"/> (by default: observes and passes them on).</summary>
    void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> next)
    {
        Observe(data);
        next.Write(data);
    }

    /// <summary>The body is complete: writes what is left; returns a refusal for the client, or null.</summary>
    SmtpReply? Complete(IBufferWriter<byte> next);

    /// <summary>Header fields to put in front of the message (trace headers), known after <see cref="Complete"/>.</summary>
    string Prefix => "";

    /// <summary>
    /// True when <see cref="Prefix"/> is final from <see cref="IStreamProcessor.Begin"/> on (a trace header, or none):
    /// then the message can go on to a next hop while it arrives (cut-through). False (the default) when the body
    /// may still decide it.
    /// </summary>
    bool PrefixKnownAtStart => false;
}
