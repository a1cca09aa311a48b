using System.Buffers;
using System.Diagnostics.Metrics;
using Hermod.Core.Diagnostics;
using Hermod.Core.Storage;

namespace Hermod.TestKit.Storage;

/// <summary>What the storage tests do to a store: write a body as a session does, read a message back, count its commits.</summary>
public static class StoreKit
{
    /// <summary>Writes <paramref name="body"/> 1000 bytes at a time, flushing a chunk whenever the writer asks (as a session does); not accepted yet.</summary>
    public static async Task<IBlobWriter> WriteBodyAsync(IMessageStore store, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(body);
        var blob = store.CreateBlobWriter();
        for (var offset = 0; offset < body.Length; offset += 1000)
        {
            blob.Write(body.AsSpan(offset, Math.Min(1000, body.Length - offset)));
            if (blob.ShouldFlush)
                await blob.FlushAsync(default);
        }
        return blob;
    }

    /// <summary>The message as stored: its trace prefix, then its body.</summary>
    public static async Task<byte[]> ReadAsync(IMessageStore store, string id)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var content = new MemoryStream();
        Assert.True(await store.CopyContentAsync(id, content, default));
        return content.ToArray();
    }

    /// <summary>
    /// The event feed once it shows at least <paramref name="atLeast"/> events (at most 10 s). A feed may hold an event
    /// back while a transaction older than the one that wrote it still runs (PostgreSQL's, so that its cursor never
    /// skips one): a heartbeat in flight at the moment of the read hides it for that long. Once seen, an event stays
    /// visible: no older transaction can begin later.
    /// </summary>
    public static async Task<IReadOnlyList<DeliveryEvent>> SettledEventsAsync(IApiStore store, string? messageId, int atLeast)
    {
        ArgumentNullException.ThrowIfNull(store);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var events = await store.EventsAsync(messageId, null, 0, 1000, default);
            if (events.Count >= atLeast || DateTime.UtcNow > deadline)
                return events;
            await Task.Delay(20);
        }
    }

    /// <summary>Adds each commit's batch size to <paramref name="batches"/> (lock it to read).</summary>
    public static MeterListener ListenToCommits(HermodMetrics metrics, List<long> batches)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return Listen(metrics.CommitBatchSize, batches);
    }

    /// <summary>Adds each value recorded by <paramref name="instrument"/> to <paramref name="values"/> (lock it to read).</summary>
    public static MeterListener Listen(Instrument<long> instrument, List<long> values)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (ReferenceEquals(i, instrument))
                l.EnableMeasurementEvents(i);
        };
        listener.SetMeasurementEventCallback<long>((_, v, _, _) =>
        {
            lock (values)
                values.Add(v);
        });
        listener.Start();
        return listener;
    }
}
