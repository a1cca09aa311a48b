using System.Buffers;
using System.IO.Pipelines;
using Hermod.Core.Pipeline;

namespace Hermod.Delivery.CutThrough;

/// <summary>
/// The content of a cut-through transaction fanned out to its next hops as it arrives: one bounded pipe each, read by
/// that next hop's content writer (<see cref="CopyToAsync"/>). A pipe whose reader gave up (its connection broke) is
/// left out. <see cref="Fail"/> completes every pipe with an error, so each reader throws before the end of data.
/// </summary>
internal sealed class StreamedContent : ICutThroughContent
{
    /// <summary>What a next hop may lag behind before the client is slowed down to its pace.</summary>
    private const long MaxBehind = 1024 * 1024;

    /// <summary>
    /// Content handed on in pieces of at least this much: a small message goes to the next hop whole, with its end of
    /// data, in one write — streaming pays off for large ones.
    /// </summary>
    private const long MinHandOn = 16 * 1024;

    private readonly List<Pipe> _pipes = [];
    private bool _ended;

    /// <summary>
    /// The next hops read from now on: until then (the first batch of the client's input, answered before they start)
    /// what is written waits in the pipes without holding up the writer.
    /// </summary>
    public bool Reading { get; set; }

    public StreamedContent(string headerPrefix, int readers)
    {
        var prefix = System.Text.Encoding.UTF8.GetBytes(headerPrefix);
        for (var i = 0; i < readers; i++)
        {
            // Inline: a next hop's reader goes on in the flush (or completion) that fed it, on the session's thread —
            // no hand-over to the thread pool between the content arriving and going on.
            var pipe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
                pauseWriterThreshold: MaxBehind, resumeWriterThreshold: MaxBehind / 2, useSynchronizationContext: false));
            pipe.Writer.Write(prefix);
            _pipes.Add(pipe);
        }
    }

    /// <summary>The reader side for next hop <paramref name="index"/>.</summary>
    public PipeReader Reader(int index) => _pipes[index].Reader;

    public void Write(ReadOnlySpan<byte> data)
    {
        if (_ended)
            return;
        foreach (var pipe in _pipes)
            pipe.Writer.Write(data);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_ended || !Reading || _pipes.Count == 0 || _pipes[0].Writer.UnflushedBytes < MinHandOn)
            return;
        for (var i = _pipes.Count - 1; i >= 0; i--)
            if ((await _pipes[i].Writer.FlushAsync(cancellationToken)).IsCompleted) // its reader is gone
            {
                await _pipes[i].Writer.CompleteAsync();
                _pipes.RemoveAt(i);
            }
    }

    /// <summary>The content is complete and accepted: each next hop may end its data once it has read it all.</summary>
    public void Complete()
    {
        if (_ended)
            return;
        _ended = true;
        foreach (var pipe in _pipes)
            pipe.Writer.Complete();
    }

    public void Fail()
    {
        if (_ended)
            return;
        _ended = true;
        foreach (var pipe in _pipes)
            pipe.Writer.Complete(new IOException("The content was refused or abandoned before its end"));
    }

    /// <summary>Copies what arrives on <paramref name="reader"/> to <paramref name="destination"/> until the content is complete; throws when it failed.</summary>
    public static async Task CopyToAsync(PipeReader reader, Stream destination, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                foreach (var segment in result.Buffer)
                    await destination.WriteAsync(segment, cancellationToken);
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                    break;
            }
            await reader.CompleteAsync();
        }
        catch (Exception e)
        {
            await reader.CompleteAsync(e); // the writer sees it gone and leaves it out
            throw;
        }
    }
}
