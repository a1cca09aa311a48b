using Hermod.Core.Storage;

namespace Hermod.Hosting.Tests.CutThrough;

/// <summary>What the store holds after a cut-through transaction, found by recipient.</summary>
internal static class CutThroughRecords
{
    /// <summary>The stored messages with a delivery to <paramref name="recipient"/>.</summary>
    public static async Task<IReadOnlyList<StoredMessage>> StoredForAsync(IMessageStore store, string recipient) =>
        [.. (await store.ListAsync(null, 100_000, default)).Where(m => m.Deliveries.Any(d => d.Recipient == recipient))];

    /// <summary>The record of a message delivered cut-through, which is written after the client got its answer (waits at most 20 s).</summary>
    public static async Task<StoredMessage> RecordedAsync(IMessageStore store, string recipient)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if ((await StoredForAsync(store, recipient)).SingleOrDefault() is { } stored)
                return stored;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"no record of the delivery to {recipient}");
            await Task.Delay(20);
        }
    }
}
