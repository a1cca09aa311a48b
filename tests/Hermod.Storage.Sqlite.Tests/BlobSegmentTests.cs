using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.TestKit.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Storage.Sqlite.Tests;

/// <summary>Large chunks of bodies live in segment files beside the database: written once, read back byte-exact, deleted when nothing points at them.</summary>
public sealed class BlobSegmentTests : IAsyncLifetime
{
    private readonly HermodOptions _options = new() { DataDir = Directory.CreateTempSubdirectory("hermod-segments-").FullName };
    private readonly SqliteStorageOptions _storage = new() { ChunkSize = 64 * 1024, SegmentSize = 1 << 20 };

    private static readonly byte[] Trace = Encoding.ASCII.GetBytes("X-Trace: 1\r\n");

    private string SegmentDirectory => Path.Combine(_options.DataDir, "blobs");

    private string[] Segments => [.. Directory.GetFiles(SegmentDirectory, "*.seg").Select(Path.GetFileName).Order()!];

    private SqliteMessageStore Open(bool recover = true) => new(_options, _storage, new HermodMetrics(), TimeProvider.System, NullLogger.Instance, recover);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_options.DataDir, recursive: true);
        return Task.CompletedTask;
    }

    private static MessageEnvelope Envelope() => new(
        QueueId.New(TimeProvider.System), "sender@remote.test", [new EnvelopeRecipient("u@example.test")],
        new MessageSource("mx", IPAddress.Loopback, "client.test", null, null));

    private static async Task<string> AcceptAsync(SqliteMessageStore store, byte[] body, CutThroughAttempt? delivered = null)
    {
        var envelope = Envelope();
        await using var blob = await StoreKit.WriteBodyAsync(store, body);
        await store.AcceptAsync(envelope, "X-Trace: 1\r\n", blob, default, cutThrough: delivered);
        return envelope.Id;
    }

    private static Task<byte[]> ReadAsync(SqliteMessageStore store, string id) => StoreKit.ReadAsync(store, id);

    private long Scalar(string sql) => SqliteHarness.Scalar(Path.Combine(_options.DataDir, "hermod.db"), sql);

    [Theory]
    [InlineData(16 * 1024 - 1, 0)] // below the threshold: in the database
    [InlineData(16 * 1024, 1)]
    [InlineData(100 * 1024, 2)] // a staged chunk and the tail
    [InlineData(700 * 1024, 11)] // many chunks, over more than one segment
    public async Task Bodies_read_back_byte_exact_and_large_chunks_are_not_in_the_database(int size, int inSegments)
    {
        var body = RandomNumberGenerator.GetBytes(size);
        byte[] stored = [.. Trace, .. body];
        string id;
        await using (var store = Open())
        {
            id = await AcceptAsync(store, body);
            Assert.Equal(stored, await ReadAsync(store, id));
        }
        Assert.Equal(inSegments, Scalar("SELECT count(*) FROM blob_chunks WHERE segment IS NOT NULL"));
        Assert.Equal(size >= 16 * 1024 ? 0 : size, Scalar("SELECT coalesce(sum(length(data)), 0) FROM blob_chunks"));
        Assert.Equal(inSegments == 0 ? 0 : size, Segments.Sum(s => new FileInfo(Path.Combine(SegmentDirectory, s)).Length));

        // A new process reads them the same; the staging of another body goes to a segment of its own.
        await using (var store = Open())
        {
            Assert.Equal(stored, await ReadAsync(store, id));
            var before = Segments;
            var second = await AcceptAsync(store, RandomNumberGenerator.GetBytes(20_000));
            Assert.Equal(20_000 + 12, (await ReadAsync(store, second)).Length);
            Assert.Contains(Segments, s => !before.Contains(s)); // never appended to a file of an earlier run
        }
    }

    [Fact]
    public async Task Segments_fill_up_to_their_size_then_the_next_begins()
    {
        await using var store = Open();
        var bodies = Enumerable.Range(0, 6).Select(_ => RandomNumberGenerator.GetBytes(300 * 1024)).ToList();
        var ids = new List<string>();
        foreach (var body in bodies)
            ids.Add(await AcceptAsync(store, body));
        Assert.True(Segments.Length >= 2, $"1.8 MB in 1 MB segments: {string.Join(", ", Segments)}");
        Assert.All(Segments, s => Assert.InRange(new FileInfo(Path.Combine(SegmentDirectory, s)).Length, 1, 1 << 20));
        for (var i = 0; i < ids.Count; i++)
            Assert.Equal(bodies[i], (await ReadAsync(store, ids[i]))[12..]);
    }

    [Fact]
    public async Task Retention_deletes_the_segments_nothing_points_at_and_keeps_the_rest()
    {
        await using var store = Open();
        var now = DateTimeOffset.UtcNow;
        var delivered = new CutThroughAttempt(now, now, [new RecipientOutcome(0, AttemptStatus.Delivered, new UpstreamReply("mx.example.test", new SmtpReply(250, new(2, 0, 0), "ok")))]);
        for (var i = 0; i < 6; i++) // finished at once: retention may take them
            await AcceptAsync(store, RandomNumberGenerator.GetBytes(300 * 1024), delivered);
        var kept = RandomNumberGenerator.GetBytes(300 * 1024);
        var keptId = await AcceptAsync(store, kept); // queued: retention leaves it
        var before = Segments;
        Assert.True(before.Length >= 2);

        await Task.Delay(20);
        var result = await store.DeleteFinishedAsync(TimeSpan.Zero, 100, default);
        Assert.Equal(6, result.Messages);
        var after = Segments;
        Assert.True(after.Length < before.Length, $"before: {string.Join(", ", before)}; after: {string.Join(", ", after)}");
        Assert.Equal(kept, (await ReadAsync(store, keptId))[12..]); // its segment stays, and the one being written
        Assert.Equal(Scalar("SELECT count(DISTINCT segment) FROM blob_chunks WHERE segment IS NOT NULL"),
            after.Count(s => Scalar($"SELECT count(*) FROM blob_chunks WHERE segment = {long.Parse(s[..^4], System.Globalization.CultureInfo.InvariantCulture)}") > 0));
    }

    [Fact]
    public async Task A_body_staged_by_a_run_that_died_is_dropped_with_its_segment_at_the_next_start()
    {
        await using (var store = Open())
        {
            var blob = await StoreKit.WriteBodyAsync(store, RandomNumberGenerator.GetBytes(200 * 1024)); // staged, never accepted nor dropped
            Assert.Equal(3, Scalar("SELECT count(*) FROM blob_chunks WHERE segment IS NOT NULL")); // three full chunks of 64 KB
            GC.KeepAlive(blob);
        }
        var left = Segments;
        Assert.Single(left);

        await using (var store = Open())
        {
            var id = await AcceptAsync(store, Encoding.ASCII.GetBytes("Subject: small\r\n\r\nbody\r\n")); // after the start's clean-up
            Assert.Equal(0, Scalar("SELECT count(*) FROM blob_chunks WHERE segment IS NOT NULL"));
            Assert.DoesNotContain(left[0], Segments);
            Assert.NotEmpty(await ReadAsync(store, id));
        }
    }

    [Fact]
    public async Task The_command_line_never_makes_or_deletes_segments()
    {
        string id;
        await using (var store = Open())
            id = await AcceptAsync(store, RandomNumberGenerator.GetBytes(50_000));
        var before = Segments;
        await using (var inspect = Open(recover: false))
            Assert.Equal(50_000 + 12, (await ReadAsync(inspect, id)).Length);
        Assert.Equal(before, Segments);
    }
}
