using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Hermod.Core.Diagnostics;
using Hermod.Core.IO;
using Hermod.Core.Storage;
using Xunit.Abstractions;

namespace Hermod.TestKit.Storage;

/// <summary>
/// The storage contract for a body far larger than memory should hold (design invariant 2: memory independent of the
/// message's size): 100 MB written as a session writes it and read back whole, with the live managed heap sampled
/// throughout.
/// <para>
/// What is measured is the peak of the live heap: a sampler forces a full blocking collection every
/// <see cref="SampleEvery"/> and reads what survived. Memory that is bounded but churned — each chunk read into a fresh
/// array and dropped — is garbage at the next collection and does not count; a store that held the body, or a
/// growing part of it, would hold it across many samples (moving 100 MB through a database takes seconds), and would
/// fail. Total allocated bytes would not tell these apart, and a sample without a collection would count garbage.
/// </para>
/// <para>
/// The live heap belongs to the whole process, so nothing else may run meanwhile: each provider runs this class in
/// a collection with <c>DisableParallelization = true</c>, which xunit runs alone, after every parallel collection.
/// The baseline is taken with the store open, right before the body is written.
/// </para>
/// </summary>
public abstract class LargeBodyContract<TStore>(StoreHarness<TStore> harness, ITestOutputHelper output) : IAsyncLifetime
    where TStore : IMessageStore, IDeliveryQueue, ISubmissionStore, IRetentionStore, IApiStore, IClusterRoles, IAsyncDisposable
{
    private const long BodySize = 100L * 1024 * 1024;

    /// <summary>What the body is written in, a session's worth at a time; the one array the test itself holds.</summary>
    private const int Piece = 64 * 1024;

    /// <summary>The live heap the store may add while the body passes: a few chunks and the drivers' buffers, an eighth of the body.</summary>
    private const long HeapAllowance = BodySize / 8;

    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(50);

    public Task InitializeAsync() => harness.InitializeAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task A_100_MB_body_is_written_and_read_back_whole_by_hash_with_the_live_heap_bounded()
    {
        await using var store = harness.Open(TimeProvider.System, new HermodMetrics(), StoreHarness<TStore>.DefaultChunkSize);
        var prefix = "X-Trace: large\r\n"u8.ToArray();
        var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), "sender@remote.test", [new EnvelopeRecipient("u@example.test")],
            new MessageSource("mx", System.Net.IPAddress.Loopback, "client.test", null, null));
        using var expected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        expected.AppendData(prefix);

        var baseline = LiveHeap();
        long writePeak;
        using (var sampler = new HeapSampler(SampleEvery))
        {
            await using (var blob = store.CreateBlobWriter())
            {
                using var body = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var piece = new byte[Piece];
                var random = new Random(20_250_101); // the same bytes every run
                for (long written = 0; written < BodySize; written += Piece)
                {
                    random.NextBytes(piece);
                    body.AppendData(piece);
                    expected.AppendData(piece);
                    blob.Write(piece);
                    if (blob.ShouldFlush)
                        await blob.FlushAsync(default);
                }
                blob.ContentHash = body.GetHashAndReset(); // what the hash processor gives a session's body
                await store.AcceptAsync(envelope, Encoding.ASCII.GetString(prefix), blob, default);
            }
            writePeak = sampler.Stop();
        }

        using var read = new HashingStream();
        long readPeak;
        using (var sampler = new HeapSampler(SampleEvery))
        {
            Assert.True(await store.CopyContentAsync(envelope.Id, read, default));
            readPeak = sampler.Stop();
        }

        output.WriteLine($"live heap: {baseline >> 10} KB before, at most {writePeak >> 10} KB while writing {BodySize >> 20} MB, {readPeak >> 10} KB while reading it");
        Assert.Equal(prefix.Length + BodySize, read.Length);
        Assert.Equal(Convert.ToHexString(expected.GetHashAndReset()), Convert.ToHexString(read.Hash));
        Assert.Equal(prefix.Length + BodySize, (await store.GetAsync(envelope.Id, default))!.Size);
        Assert.True(writePeak - baseline < HeapAllowance,
            $"writing {BodySize >> 20} MB took the live heap from {baseline >> 10} KB to {writePeak >> 10} KB (allowed: {HeapAllowance >> 10} KB more)");
        Assert.True(readPeak - baseline < HeapAllowance,
            $"reading {BodySize >> 20} MB took the live heap from {baseline >> 10} KB to {readPeak >> 10} KB (allowed: {HeapAllowance >> 10} KB more)");
    }

    /// <summary>What survives a full blocking collection, in bytes.</summary>
    private static long LiveHeap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        return GC.GetTotalMemory(forceFullCollection: false);
    }

    /// <summary>Samples <see cref="LiveHeap"/> on a thread of its own until stopped; the highest sample.</summary>
    private sealed class HeapSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private long _peak;

        public HeapSampler(TimeSpan every)
        {
            _thread = new Thread(() =>
            {
                do
                    _peak = Math.Max(_peak, LiveHeap());
                while (!_stop.Token.WaitHandle.WaitOne(every));
            })
            { IsBackground = true, Name = "heap sampler" };
            _thread.Start();
        }

        /// <summary>Takes a last sample and returns the highest.</summary>
        public long Stop()
        {
            _stop.Cancel();
            _thread.Join();
            return Math.Max(_peak, LiveHeap());
        }

        public void Dispose()
        {
            if (!_stop.IsCancellationRequested)
                Stop();
            _stop.Dispose();
        }
    }

    /// <summary>A write-only stream that keeps nothing: the SHA-256 and the length of what went through it.</summary>
    private sealed class HashingStream : AsyncWriteStream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _length;

        public byte[] Hash => _hash.GetCurrentHash();

        protected override long BytesWritten => _length;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _hash.AppendData(buffer.Span);
            _length += buffer.Length;
            return ValueTask.CompletedTask;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
