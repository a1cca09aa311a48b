using System.Text;

namespace Hermod.Core.Storage;

/// <summary>A message not yet accepted, as it will be stored: for cut-through, which sends it before the commit.</summary>
public static class PendingContent
{
    /// <summary>Writes the trace prefix, the header block (rewritten, or as received) and the body, read back from <paramref name="blob"/>.</summary>
    public static Func<Stream, CancellationToken, Task> Writer(string headerPrefix, ReplacedHeader? header, IBlobWriter blob) => async (stream, ct) =>
    {
        ArgumentNullException.ThrowIfNull(stream);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(headerPrefix), ct);
        await using var body = await blob.OpenReadAsync(ct);
        if (header is not null)
        {
            await stream.WriteAsync(header.Block, ct);
            var skip = header.ReceivedLength;
            var buffer = new byte[16 * 1024];
            while (skip > 0)
            {
                var read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, skip)), ct);
                if (read == 0)
                    break;
                skip -= read;
            }
        }
        await body.CopyToAsync(stream, ct);
    };
}
