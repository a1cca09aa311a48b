using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Bounces;
using Hermod.Delivery.Configuration;
using Hermod.Storage.Postgres;
using Hermod.TestKit;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Delivery.Tests.Bounces;

/// <summary>Two nodes on one PostgreSQL database, each with its bounce service: the node that holds the DSN role makes them.</summary>
public sealed class ClusterDsnTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The system clock until <see cref="Stop"/>; then time stands still, and a node on it beats the same time over and over: a hung node.</summary>
    private sealed class StoppableClock : TimeProvider
    {
        private DateTimeOffset? _stopped;

        public override DateTimeOffset GetUtcNow() => _stopped ?? System.GetUtcNow();

        public void Stop() => _stopped = System.GetUtcNow();
    }

    private sealed class Node(PostgresMessageStore store, BounceService bounces) : IAsyncDisposable
    {
        public PostgresMessageStore Store => store;

        public BounceService Bounces => bounces;

        public async ValueTask DisposeAsync()
        {
            bounces.Dispose();
            await store.DisposeAsync();
        }
    }

    private static Node Start(string connectionString, string name, TimeProvider time)
    {
        var hermod = new HermodOptions { NodeName = name, Hostname = $"{name}.example.test" };
        var store = new PostgresMessageStore(hermod, new PostgresStorageOptions { ConnectionString = connectionString, MaxPool = 20, NodeTimeout = NodeTimeout },
            new HermodMetrics(), time, NullLogger.Instance);
        return new Node(store, new BounceService(hermod, new DeliveryOptions(), store, store, store, time, NullLogger<BounceService>.Instance));
    }

    /// <summary>A message from <paramref name="sender"/> accepted on <paramref name="node"/>, its one recipient failed there for good: a DSN is owed.</summary>
    private static async Task OweDsnAsync(Node node, string sender)
    {
        var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), sender, [new EnvelopeRecipient("u@dest.test")],
            new MessageSource("mx", IPAddress.Loopback, "client.test", null, null));
        await using (var blob = node.Store.CreateBlobWriter())
        {
            blob.Write(Encoding.ASCII.GetBytes("Subject: x\r\n\r\nbody\r\n").AsSpan());
            await node.Store.AcceptAsync(envelope, "", blob, default);
        }
        var job = Assert.Single(await node.Store.ClaimAsync(10, TimeSpan.FromMinutes(5), default), j => j.Message.Envelope.Id == envelope.Id);
        var reply = new UpstreamReply("mx.dest.test", new SmtpReply(550, new(5, 1, 1), "user unknown"));
        await node.Store.RecordAsync(new AttemptRecord(envelope.Id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            [new RecipientOutcome(job.Recipients[0].DeliveryId, AttemptStatus.Failed, reply, null, DsnKind.Failure)]), default);
    }

    /// <summary>The DSNs queued so far: to whom, made by which node (its host name is the DSN's HELO).</summary>
    private static async Task<List<(string To, string By)>> DsnsAsync(Node node) =>
        [.. (await node.Store.ListAsync(null, 100, default)).Where(m => m.Envelope.Sender.Length == 0)
            .Select(m => (m.Envelope.Recipients[0].Address, m.Envelope.Source.Helo))];

    [Fact]
    public async Task A_dsn_owed_once_is_made_once_by_the_holder_and_after_it_stops_beating_by_another_node()
    {
        var database = await postgres.CreateDatabaseAsync();
        var clockA = new StoppableClock();
        await using var a = Start(database, "node-a", clockA);
        await using var b = Start(database, "node-b", TimeProvider.System);
        await a.Bounces.SendPendingAsync(default); // node-a asks first: the role is its

        await OweDsnAsync(a, "first@remote.test");
        await b.Bounces.SendPendingAsync(default);
        Assert.Empty(await DsnsAsync(b)); // node-b does not hold the role: it leaves the DSN alone
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).Bounces.SendPendingAsync(default))));
        Assert.Equal([("first@remote.test", "node-a.example.test")], await DsnsAsync(b));

        clockA.Stop(); // node-a hangs (it makes no more DSNs either): its heartbeat grows old
        await OweDsnAsync(b, "second@remote.test");
        var since = Stopwatch.StartNew();
        while ((await DsnsAsync(b)).Count < 2)
        {
            Assert.True(since.Elapsed < TimeSpan.FromSeconds(30), "node-b never took over the DSNs of the silent node");
            await b.Bounces.SendPendingAsync(default);
            await Task.Delay(100);
        }
        Assert.Equal([("first@remote.test", "node-a.example.test"), ("second@remote.test", "node-b.example.test")], (await DsnsAsync(a)).Order());
    }
}
