using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Hermod.Core.Diagnostics;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.TestKit.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Storage.Sqlite.Tests;

/// <summary>What only the SQLite store does: its writer's thread and hold-back, its schema upgrades, its write-ahead log.</summary>
public sealed class SqliteMessageStoreTests : IAsyncLifetime
{
    private readonly SqliteHarness _harness = new();
    private readonly SqliteStorageOptions _storage = new() { ChunkSize = StoreHarness<SqliteMessageStore>.ChunkSize };

    private SqliteMessageStore Open() => _harness.Open(TimeProvider.System, new HermodMetrics());

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private static MessageEnvelope Envelope(params string[] recipients) => new(
        QueueId.New(TimeProvider.System), "sender@remote.test", [.. recipients.Select(r => new EnvelopeRecipient(r))],
        new MessageSource("mx", System.Net.IPAddress.Loopback, "client.test", null, null));

    private static async Task<string> AcceptAsync(SqliteMessageStore store, byte[] body)
    {
        var envelope = Envelope("u@example.test");
        await using var blob = await StoreKit.WriteBodyAsync(store, body);
        blob.ContentHash = SHA256.HashData(body); // what the hash processor gives a session's body: the content address
        await store.AcceptAsync(envelope, "X-Trace: 1\r\n", blob, default);
        return envelope.Id;
    }

    private static Task<byte[]> ReadAsync(SqliteMessageStore store, string id) => StoreKit.ReadAsync(store, id);

    private long Scalar(string sql) => SqliteHarness.Scalar(_harness.DatabasePath, sql);

    [Fact]
    public async Task Records_of_messages_every_next_hop_took_share_commits_and_are_delivered()
    {
        var metrics = new HermodMetrics();
        var batches = new List<long>();
        using var listener = StoreKit.ListenToCommits(metrics, batches);
        await using var store = new SqliteMessageStore(_harness.Options, _storage, metrics, TimeProvider.System, NullLogger.Instance);

        // One after another, at the pace of a single session: nobody waits for these records.
        var records = new List<Task>();
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var envelope = Envelope($"r{i}@example.test");
            var blob = store.CreateBlobWriter();
            BuffersExtensions.Write(blob, Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody\r\n"));
            var now = DateTimeOffset.UtcNow;
            var delivered = new CutThroughAttempt(now, now, [new RecipientOutcome(0, AttemptStatus.Delivered, new UpstreamReply("mx.example.test", new SmtpReply(250, new(2, 0, 0), "ok")))]);
            records.Add(store.AcceptAsync(envelope, "", blob, default, cutThrough: delivered).ContinueWith(_ => blob.DisposeAsync().AsTask(), TaskScheduler.Default).Unwrap());
            ids.Add(envelope.Id);
            var pause = System.Diagnostics.Stopwatch.StartNew();
            while (pause.Elapsed < TimeSpan.FromMilliseconds(2))
                Thread.SpinWait(10); // a session's pace: each record would have its commit to itself
        }
        await Task.WhenAll(records);

        lock (batches)
        {
            Assert.Equal(20, batches.Sum());
            Assert.True(batches.Count <= 10, $"20 records took {batches.Count} commits: [{string.Join(", ", batches)}]");
        }
        foreach (var id in ids)
            Assert.Equal(DeliveryState.Delivered, Assert.Single((await store.GetAsync(id, default))!.Deliveries).State);
        Assert.Empty(await store.ListAsync(DeliveryState.Queued, 100, default));
    }

    [Fact]
    public async Task A_background_record_finishes_on_the_writers_thread_and_an_acceptance_does_not()
    {
        await using var store = Open();
        async Task<string?> ThreadAfterAsync(AttemptStatus? outcome)
        {
            var envelope = Envelope("r@example.test");
            await using var blob = store.CreateBlobWriter();
            var now = DateTimeOffset.UtcNow;
            var attempt = outcome is { } status
                ? new CutThroughAttempt(now, now, [new RecipientOutcome(0, status, new UpstreamReply("mx.example.test", new SmtpReply(250, new(2, 0, 0), "ok")))])
                : null;
            return await store.AcceptAsync(envelope, "", blob, default, cutThrough: attempt)
                .ContinueWith(_ => Thread.CurrentThread.Name, TaskContinuationOptions.ExecuteSynchronously);
        }

        // Away from the test framework's synchronization context, as a session runs.
        Assert.Equal("hermod-sqlite-writer", await Task.Run(() => ThreadAfterAsync(AttemptStatus.Delivered))); // wakes no other thread
        Assert.NotEqual("hermod-sqlite-writer", await Task.Run(() => ThreadAfterAsync(null))); // a session goes on elsewhere
    }

    [Fact]
    public async Task A_version_3_database_is_upgraded_in_place_with_its_bodies()
    {
        var small = RandomNumberGenerator.GetBytes(1_000);
        var large = RandomNumberGenerator.GetBytes(30_000);
        string a, b;
        await using (var store = Open())
        {
            a = await AcceptAsync(store, small);
            b = await AcceptAsync(store, large);
        }
        // blob_chunks as version 3 kept it: WITHOUT ROWID
        SqliteHarness.Scalar(_harness.DatabasePath, """
            CREATE TABLE old (blob_id INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, segment INTEGER, seg_offset INTEGER, length INTEGER,
                PRIMARY KEY (blob_id, seq)) WITHOUT ROWID;
            INSERT INTO old SELECT blob_id, seq, data, segment, seg_offset, length FROM blob_chunks;
            DROP TABLE blob_chunks;
            ALTER TABLE old RENAME TO blob_chunks;
            CREATE INDEX blob_chunks_segment ON blob_chunks(segment) WHERE segment IS NOT NULL;
            PRAGMA user_version = 3;
            SELECT 0;
            """);
        Assert.Equal(3, Scalar("PRAGMA user_version"));
        var chunks = Scalar("SELECT count(*) FROM blob_chunks");

        await using (var store = Open())
        {
            var storedA = await ReadAsync(store, a);
            var storedB = await ReadAsync(store, b);
            Assert.Equal([.. Encoding.ASCII.GetBytes("X-Trace: 1\r\n"), .. small], storedA);
            Assert.Equal([.. Encoding.ASCII.GetBytes("X-Trace: 1\r\n"), .. large], storedB);
        }
        Assert.Equal(4, Scalar("PRAGMA user_version"));
        Assert.Equal(chunks, Scalar("SELECT count(*) FROM blob_chunks"));
        Assert.Equal(0, Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'blob_chunks' AND sql LIKE '%WITHOUT ROWID%'"));
        Assert.Equal(1, Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'blob_chunks_segment'"));
    }

    [Fact]
    public async Task The_log_is_copied_into_the_database_shortly_after_commits_without_the_writer_reaching_its_threshold()
    {
        var database = _harness.DatabasePath;
        await using var store = Open();
        var before = new FileInfo(database).Length;
        for (var i = 0; i < 100; i++)
            await AcceptAsync(store, RandomNumberGenerator.GetBytes(2_000)); // ~100 pages: far below the writer's own threshold
        // the bodies reach the database file only through a checkpoint; the checkpointer's runs a while after the commits
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (new FileInfo(database).Length < before + 100 * 2_000 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(new FileInfo(database).Length >= before + 100 * 2_000, $"database file {new FileInfo(database).Length} bytes, {before} before");
    }
}
