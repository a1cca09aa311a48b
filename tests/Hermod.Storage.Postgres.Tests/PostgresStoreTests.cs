using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Storage;
using Hermod.TestKit;
using Hermod.TestKit.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Storage.Postgres.Tests;

/// <summary>What only the shared store does: several nodes on one database, its schema version, its notifications.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreTests(PostgresServer server) : IAsyncLifetime
{
    private readonly PostgresHarness _harness = new(server);

    public Task InitializeAsync() => _harness.InitializeAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private PostgresMessageStore Node(string name) => _harness.Open(TimeProvider.System, new HermodMetrics(), name);

    private static async Task<string> AcceptAsync(PostgresMessageStore store, string recipient)
    {
        var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), "sender@remote.test", [new EnvelopeRecipient(recipient)],
            new MessageSource("mx", IPAddress.Loopback, "client.test", null, null));
        await using var blob = await StoreKit.WriteBodyAsync(store, "Subject: x\r\n\r\nbody\r\n"u8.ToArray());
        await store.AcceptAsync(envelope, "", blob, default);
        return envelope.Id;
    }

    [Fact]
    public async Task A_database_with_a_newer_schema_refuses_to_start_naming_both_versions()
    {
        await Node("node-a").DisposeAsync(); // creates the schema
        Assert.Equal(1, await _harness.CountAsync("SELECT version FROM schema_version"));
        await _harness.CountAsync("WITH u AS (UPDATE schema_version SET version = 99 RETURNING version) SELECT version FROM u");

        var refused = Assert.Throws<InvalidOperationException>(() => Node("node-a"));
        Assert.Contains("schema version 99", refused.Message, StringComparison.Ordinal);
        Assert.Contains("supports version 1", refused.Message, StringComparison.Ordinal);
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
        Assert.Equal("accepted", Assert.Single(await b.EventsAsync(id, null, 0, 10, default)).Type); // any node reads the whole cluster's history
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

    /// <summary>A store of node-a through <paramref name="proxy"/>; not recovering: no heartbeat and no listener, whose commits the proxy could cut.</summary>
    private PostgresMessageStore Through(DatabaseProxy proxy) =>
        new(new HermodOptions { NodeName = "node-a" },
            new PostgresStorageOptions { ConnectionString = $"{_harness.ConnectionString};Port={proxy.Port}", ChunkSize = StoreHarness<PostgresMessageStore>.ChunkSize },
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
