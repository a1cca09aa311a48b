using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Smtp.Tests.Server;

/// <summary>One cut-through transaction of <see cref="FakeCutThrough"/>: what it was handed.</summary>
internal sealed class FakeUpstream(FakeCutThrough cutThrough, CutThroughStart start) : ICutThroughTransaction, ICutThroughContent
{
    private readonly MemoryStream _streamed = new();

    public CutThroughStart Start { get; } = start;

    public List<string> Recipients { get; } = [];

    /// <summary>The header prefix the content was opened with (the content streams only with one).</summary>
    public string? StreamedPrefix { get; private set; }

    public bool ContentBegan { get; private set; }

    /// <summary>The streamed content was cut off before its end of data (<see cref="ICutThroughContent.Fail"/> before <see cref="DataAsync"/>).</summary>
    public bool StreamFailed { get; private set; }

    /// <summary>The message as handed on at the end of data; null until then.</summary>
    public byte[]? Content { get; private set; }

    public byte[] Streamed => _streamed.ToArray();

    public bool Disposed { get; private set; }

    public Task<SmtpReply?> AddRecipientAsync(IReadOnlyList<EnvelopeRecipient> deliveries, int firstIndex, CancellationToken cancellationToken)
    {
        var refusal = cutThrough.Rcpt(deliveries[0]);
        if (refusal is null)
            Recipients.AddRange(deliveries.Select(d => d.Address));
        return Task.FromResult(refusal);
    }

    public ICutThroughContent? OpenContent(string? headerPrefix)
    {
        StreamedPrefix = headerPrefix;
        return headerPrefix is null ? null : this;
    }

    public void ContentBegins() => ContentBegan = true;

    public async Task<CutThroughOutcome> DataAsync(Func<Stream, CancellationToken, Task> writeContent, long size, IReadOnlyList<EnvelopeRecipient> deliveries,
        CancellationToken cancellationToken)
    {
        using var content = new MemoryStream();
        await writeContent(content, cancellationToken);
        Content = content.ToArray();
        return cutThrough.Outcome;
    }

    public void Write(ReadOnlySpan<byte> data) => _streamed.Write(data);

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void Fail() => StreamFailed |= Content is null; // as the contract says: nothing once the data was handed on

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
