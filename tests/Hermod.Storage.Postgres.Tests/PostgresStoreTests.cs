using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Storage;
using Hermod.TestKit;
using Hermod.TestKit.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Hermod.Storage.Postgres.Tests;

/// <summary>What only the shared store does: several nodes on one database, its schema version, its notifications.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreTests(PostgresServer server) : IAsyncLifetime
{
    private readonly PostgresHarness _harness = new(server);

    public Task InitializeAsync() => _harness.InitializeAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private PostgresMessageStore Node(string name) => _harness.Open(TimeProvider.System, new HermodMetrics(), name);

    /// <param name="keyed">Whether the body is stored under its content hash (as when the hash processor ran), so equal bodies share a blob.</param>
    private static async Task<string> AcceptAsync(PostgresMessageStore store, string recipient, bool keyed = false)
    {
        var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), "sender@remote.test", [new EnvelopeRecipient(recipient)],
            new MessageSource("mx", IPAddress.Loopback, "client.test", null, null));
        var body = "Subject: x\r\n\r\nbody\r\n"u8.ToArray();
        await using var blob = await StoreKit.WriteBodyAsync(store, body);
        if (keyed)
            blob.ContentHash = SHA256.HashData(body);
        await store.AcceptAsync(envelope, "", blob, default);
        return envelope.Id;
    }

    [Fact]
    public async Task A_database_with_a_newer_schema_refuses_to_start_naming_both_versions()
    {
        await Node("node-a").DisposeAsync(); // creates the schema
        Assert.Equal(2, await _harness.CountAsync("SELECT version FROM schema_version"));
        await _harness.CountAsync("WITH u AS (UPDATE schema_version SET version = 99 RETURNING version) SELECT version FROM u");

        var refused = Assert.Throws<InvalidOperationException>(() => Node("node-a"));
        Assert.Contains("schema version 99", refused.Message, StringComparison.Ordinal);
        Assert.Contains("supports version 2", refused.Message, StringComparison.Ordinal);
        Assert.Equal(99, await _harness.CountAsync("SELECT version FROM schema_version")); // left as it was
    }

    [Fact]
    public async Task Nodes_claiming_at_once_take_different_work_and_a_restart_takes_back_only_its_own()
    {
        var a = Node("node-a");
        await using var b = Node("node-b");
        for (var i = 0; i < 40; i++)
            await AcceptAsync(a, $"r{i}@d{i}.test");

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).ClaimAsync(10, TimeSpan.FromHours(1), default))));
        var messages = claims.SelectMany(c => c).Select(j => j.Message.Envelope.Id).ToList();
        Assert.Equal(40, messages.Count); // every delivery once: no node took another's row
        Assert.Equal(40, messages.Distinct().Count());
        var ofA = await _harness.CountAsync("SELECT count(*) FROM deliveries WHERE lease_owner = 'node-a'");
        Assert.Equal(claims.Where((_, i) => i % 2 == 0).Sum(c => c.Count), ofA);

        await a.DisposeAsync(); // node-a stops mid-delivery and starts again
        await using (var again = Node("node-a"))
        {
            Assert.Equal(ofA, await _harness.CountAsync("SELECT count(*) FROM deliveries WHERE state = 'queued'"));
            Assert.Equal(40 - ofA, await _harness.CountAsync("SELECT count(*) FROM deliveries WHERE state = 'inflight' AND lease_owner = 'node-b'"));
            Assert.Equal((int)ofA, (await again.ClaimAsync(100, TimeSpan.FromHours(1), default)).Count);
        }
    }

    [Fact]
    public async Task Work_accepted_on_one_node_wakes_the_others()
    {
        await using var a = Node("node-a");
        await using var b = Node("node-b");
        Assert.True(await b.Signal.WaitAsync(TimeSpan.FromSeconds(30), default), "node-b never listened"); // set once it listens
        Assert.True(await b.EventsWritten.WaitAsync(TimeSpan.FromSeconds(30), default));

        var id = await AcceptAsync(a, "u@example.test");
        Assert.True(await b.Signal.WaitAsync(TimeSpan.FromSeconds(30), default), "node-b was not told of node-a's message");
        Assert.True(await b.EventsWritten.WaitAsync(TimeSpan.FromSeconds(30), default));
        var job = Assert.Single(await b.ClaimAsync(10, TimeSpan.FromHours(1), default));
        Assert.Equal(id, job.Message.Envelope.Id);
        Assert.Equal("accepted", Assert.Single(await StoreKit.SettledEventsAsync(b, id, 1)).Type); // any node reads the whole cluster's history
    }

    [Fact]
    public async Task A_message_whose_staged_body_another_node_dropped_is_refused_not_stored_without_it()
    {
        await using var store = Node("node-a");
        var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), "sender@remote.test", [new EnvelopeRecipient("u@example.test")],
            new MessageSource("mx", IPAddress.Loopback, "client.test", null, null));
        await using var blob = await StoreKit.WriteBodyAsync(store, new byte[5 * StoreHarness<PostgresMessageStore>.ChunkSize]); // staged in chunks
        // what another node does to the staged bodies of a node it takes for dead: node-a was cut off for longer than the node timeout
        Assert.Equal(1, await _harness.CountAsync("WITH gone AS (DELETE FROM blobs WHERE refcount = 0 AND owner = 'node-a' RETURNING id) SELECT count(*) FROM gone"));
        await _harness.CountAsync("WITH gone AS (DELETE FROM blob_chunks RETURNING blob_id) SELECT count(*) FROM gone");

        await Assert.ThrowsAsync<PostgresException>(() => store.AcceptAsync(envelope, "", blob, default)); // a 451: the client keeps it
        Assert.Null(await store.GetAsync(envelope.Id, default));
        Assert.Equal(0, await _harness.CountAsync("SELECT count(*) FROM messages"));
        await AcceptAsync(store, "next@example.test"); // the writer goes on
        Assert.Equal(1, await _harness.CountAsync("SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task Accepts_committed_together_take_two_round_trips_to_the_server()
    {
        var metrics = new HermodMetrics();
        List<long> batches = [], roundTrips = [];
        using var batchListener = StoreKit.ListenToCommits(metrics, batches);
        using var roundTripListener = StoreKit.Listen(metrics.CommitRoundTrips, roundTrips);
        await using var store = _harness.Open(TimeProvider.System, metrics, "node-a");

        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => AcceptAsync(store, $"r{i}@example.test", keyed: true))));

        Assert.Equal(40, await _harness.CountAsync("SELECT count(*) FROM messages"));
        Assert.Equal(40, await _harness.CountAsync("SELECT count(*) FROM deliveries WHERE state = 'queued'"));
        Assert.Equal(40, await _harness.CountAsync("SELECT count(*) FROM events WHERE type = 'accepted'"));
        Assert.Equal(1, await _harness.CountAsync("SELECT count(*) FROM blobs")); // one body, 40 references
        Assert.Equal(40, await _harness.CountAsync("SELECT refcount FROM blobs"));
        long[] sizes, trips;
        lock (batches)
            sizes = [.. batches];
        lock (roundTrips)
            trips = [.. roundTrips];
        Assert.Equal(40, sizes.Sum());
        Assert.Equal(sizes.Length, trips.Length);
        Assert.All(trips, r => Assert.Equal(2, r)); // BEGIN and every accept's statements, then NOTIFY and COMMIT
        Assert.Equal(40, ids.Distinct().Count());
    }

    [Fact]
    public async Task The_work_in_flight_of_a_node_that_stopped_heartbeating_is_released_before_its_lease_ends()
    {
        string id;
        await using (var a = Node("node-a"))
        {
            id = await AcceptAsync(a, "u@example.test");
            Assert.Single(await a.ClaimAsync(10, TimeSpan.FromHours(1), default));
        } // node-a stops beating with its lease an hour from its end: as if killed
        Assert.Equal(1, await _harness.CountAsync("SELECT count(*) FROM nodes WHERE name = 'node-a'"));

        await using var b = _harness.Open(TimeProvider.System, new HermodMetrics(), "node-b", nodeTimeout: TimeSpan.FromSeconds(1));
        IReadOnlyList<DeliveryJob> jobs = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); jobs.Count == 0 && DateTime.UtcNow < deadline;)
        {
            await b.Signal.WaitAsync(TimeSpan.FromMilliseconds(500), default);
            jobs = await b.ClaimAsync(10, TimeSpan.FromHours(1), default);
        }
        Assert.Equal(id, Assert.Single(jobs).Message.Envelope.Id);
        Assert.Equal(0, await _harness.CountAsync("SELECT count(*) FROM nodes WHERE name = 'node-a'"));
        Assert.Equal(1, await _harness.CountAsync("SELECT count(*) FROM nodes WHERE name = 'node-b'"));
    }

    [Fact]
    public async Task A_database_of_version_1_gets_the_roles_table_of_version_2_at_start()
    {
        await Node("node-a").DisposeAsync();
        await _harness.CountAsync("DROP TABLE roles"); // what version 1 had: the rest is the same
        await _harness.CountAsync("WITH u AS (UPDATE schema_version SET version = 1 RETURNING version) SELECT version FROM u");

        await using var a = Node("node-a");
        Assert.Equal(2, await _harness.CountAsync("SELECT version FROM schema_version"));
        Assert.True(await a.HoldAsync("dsn", default));
        Assert.Equal(1, await _harness.CountAsync("SELECT count(*) FROM roles WHERE name = 'dsn' AND node = 'node-a'"));
    }

    [Fact]
    public async Task A_role_stays_with_a_node_that_beats_and_passes_on_at_once_when_it_stops_cleanly()
    {
        var timeout = TimeSpan.FromSeconds(2);
        var a = _harness.Open(TimeProvider.System, new HermodMetrics(), "node-a", nodeTimeout: timeout);
        await using var b = _harness.Open(TimeProvider.System, new HermodMetrics(), "node-b", nodeTimeout: timeout);
        try
        {
            Assert.True(await a.HoldAsync("dsn", default));
            Assert.True(await b.HoldAsync("webhooks", default)); // each role on its own
            for (var held = Stopwatch.StartNew(); held.Elapsed < 2 * timeout; await Task.Delay(200))
            {
                Assert.False(await b.HoldAsync("dsn", default));
                Assert.True(await a.HoldAsync("dsn", default));
                Assert.False(await a.HoldAsync("webhooks", default));
            }
        }
        finally
        {
            await a.DisposeAsync(); // a clean stop: its roles are given up
        }
        Assert.True(await b.HoldAsync("dsn", default)); // at once, well within the node timeout of node-a's last beat
        Assert.Equal(0, await _harness.CountAsync("SELECT count(*) FROM roles WHERE node = 'node-a'"));
    }

    [Fact]
    public async Task A_role_passes_to_the_first_node_that_asks_once_its_holder_has_been_silent_for_the_node_timeout()
    {
        var timeout = TimeSpan.FromSeconds(2);
        var since = Stopwatch.StartNew();
        var stopped = new FakeTimeProvider(DateTimeOffset.UtcNow); // node-a's clock stands still: it beats at start, then never again
        await using var a = _harness.Open(stopped, new HermodMetrics(), "node-a");
        await using var b = _harness.Open(TimeProvider.System, new HermodMetrics(), "node-b", nodeTimeout: timeout);
        await using var c = _harness.Open(TimeProvider.System, new HermodMetrics(), "node-c", nodeTimeout: timeout);
        Assert.True(await a.HoldAsync("dsn", default));

        var takers = new[] { b, c };
        bool[] took;
        do
        {
            Assert.True(since.Elapsed < TimeSpan.FromSeconds(30), "nobody took the role of the silent node");
            await Task.Delay(100);
            took = await Task.WhenAll(takers.Select(n => Task.Run(() => n.HoldAsync("dsn", default))));
        }
        while (!took.Any(t => t));
        Assert.True(since.Elapsed >= timeout, $"taken after {since.Elapsed}: before node-a had been silent for the node timeout");
        var taker = took[0] ? b : c;
        Assert.Single(took, true); // two nodes asking at once: one takes it
        Assert.True(await taker.HoldAsync("dsn", default));
        Assert.False(await (took[0] ? c : b).HoldAsync("dsn", default));
        Assert.False(await a.HoldAsync("dsn", default)); // node-a, back from its pause, finds it taken
        Assert.Equal(1, await _harness.CountAsync("SELECT count(*) FROM roles WHERE name = 'dsn' AND node <> 'node-a'"));
    }

    [Fact]
    public async Task The_command_line_holds_no_role_and_leaves_the_roles_of_its_node_alone()
    {
        await using var a = Node("node-a");
        await using var b = Node("node-b");
        Assert.True(await a.HoldAsync("dsn", default));
        await using (var cli = _harness.Open(TimeProvider.System, new HermodMetrics(), "node-a", recover: false)) // beside node-a's server, under its name
        {
            Assert.False(await cli.HoldAsync("dsn", default));
            Assert.False(await cli.HoldAsync("webhooks", default));
        }
        Assert.False(await b.HoldAsync("dsn", default)); // still node-a's
        Assert.True(await a.HoldAsync("dsn", default));
    }

    /// <summary>
    /// A store of node-a through <paramref name="proxy"/>; not recovering: no heartbeat and no listener, whose commits the
    /// proxy could cut. Nothing prepared: a prepared COMMIT is sent without its text, which the proxy looks for.
    /// </summary>
    private PostgresMessageStore Through(DatabaseProxy proxy) =>
        new(new HermodOptions { NodeName = "node-a" },
            new PostgresStorageOptions { ConnectionString = $"{_harness.ConnectionString};Port={proxy.Port};Max Auto Prepare=0", ChunkSize = StoreHarness<PostgresMessageStore>.ChunkSize },
            new HermodMetrics(), TimeProvider.System, NullLogger.Instance, recover: false);

    [Fact]
    public async Task While_the_database_cannot_be_reached_reads_and_writes_throw_StorageUnavailableException_and_work_again_after()
    {
        await using var proxy = new DatabaseProxy(server.Port);
        await using var store = Through(proxy);
        var before = await AcceptAsync(store, "before@example.test");
        var key = await store.CreateApiKeyAsync("acme", default);

        proxy.Mode = ProxyMode.Down;
        await Assert.ThrowsAsync<StorageUnavailableException>(() => AcceptAsync(store, "during@example.test"));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.GetAsync(before, default));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.CopyContentAsync(before, Stream.Null, default));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.AuthenticateAsync(key, default));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.ClaimAsync(10, TimeSpan.FromMinutes(1), default));
        // a large body is staged as it comes: its first chunk finds the database gone
        await Assert.ThrowsAsync<StorageUnavailableException>(() => StoreKit.WriteBodyAsync(store, new byte[3 * StoreHarness<PostgresMessageStore>.ChunkSize]));

        proxy.Mode = ProxyMode.Pass;
        var after = await AcceptAsync(store, "after@example.test");
        Assert.Equal("acme", await store.AuthenticateAsync(key, default));
        Assert.Equal([before, after], (await store.ListAsync(null, 10, default)).Select(m => m.Envelope.Id).Order());
    }

    [Theory]
    [InlineData(ProxyMode.CutAfterCommit)]
    [InlineData(ProxyMode.CutBeforeCommit)]
    public async Task A_commit_whose_answer_is_lost_is_taken_for_what_the_database_did(ProxyMode cut)
    {
        await using var proxy = new DatabaseProxy(server.Port);
        await using var store = Through(proxy);
        var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), "sender@remote.test", [new EnvelopeRecipient("u@example.test")],
            new MessageSource("mx", IPAddress.Loopback, "client.test", null, null));
        await using var blob = await StoreKit.WriteBodyAsync(store, "Subject: x\r\n\r\nbody\r\n"u8.ToArray());

        proxy.Mode = cut;
        var accept = store.AcceptAsync(envelope, "", blob, default);
        if (cut == ProxyMode.CutAfterCommit)
        {
            await accept; // committed: the 250 is true
            Assert.NotNull(await store.GetAsync(envelope.Id, default));
        }
        else
        {
            await Assert.ThrowsAsync<StorageUnavailableException>(() => accept); // rolled back: the 451 is true
            Assert.Null(await store.GetAsync(envelope.Id, default));
        }
        Assert.Equal(1, proxy.Cuts);
    }
}
