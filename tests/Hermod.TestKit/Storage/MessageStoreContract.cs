using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hermod.Core.Diagnostics;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.TestKit.Storage;

/// <summary>
/// The storage contract, on the real clock: bodies, group commit, cut-through records, claims, leases, attempts and
/// restarts. Written against the storage interfaces only; each provider runs it with its own <see cref="StoreHarness{TStore}"/>.
/// </summary>
public abstract class MessageStoreContract<TStore>(StoreHarness<TStore> harness) : IAsyncLifetime
    where TStore : IMessageStore, IDeliveryQueue, ISubmissionStore, IRetentionStore, IApiStore, IClusterRoles, IAsyncDisposable
{
    protected StoreHarness<TStore> Harness => harness;

    public Task InitializeAsync() => harness.InitializeAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    protected TStore Open() => harness.Open(TimeProvider.System, new HermodMetrics());

    protected Task<long> Scalar(string sql, params object[] values) => harness.CountAsync(sql, values);

    protected static MessageEnvelope Envelope(params string[] recipients) => new(
        QueueId.New(TimeProvider.System), "sender@remote.test", [.. recipients.Select(r => new EnvelopeRecipient(r))],
        new MessageSource("mx", IPAddress.Loopback, "client.test", null, null));

    protected static async Task<string> AcceptAsync(TStore store, byte[] body, string prefix = "X-Trace: 1\r\n", params string[] recipients)
    {
        var envelope = Envelope(recipients.Length == 0 ? ["u@example.test"] : recipients);
        await using var blob = await StoreKit.WriteBodyAsync(store, body);
        blob.ContentHash = SHA256.HashData(body); // what the hash processor gives a session's body: the content address
        await store.AcceptAsync(envelope, prefix, blob, default);
        return envelope.Id;
    }

    protected static Task<byte[]> ReadAsync(TStore store, string id) => StoreKit.ReadAsync(store, id);

    protected static UpstreamReply Ok => new("mx.example.test", new SmtpReply(250, new(2, 0, 0), "ok"));

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(4096)]
    [InlineData(50_000)] // many chunks
    public async Task Bodies_of_any_size_read_back_byte_exact_after_the_trace_prefix(int size)
    {
        var body = RandomNumberGenerator.GetBytes(size);
        await using var store = Open();
        var id = await AcceptAsync(store, body);
        var stored = await ReadAsync(store, id);
        Assert.Equal([.. Encoding.ASCII.GetBytes("X-Trace: 1\r\n"), .. body], stored);
        var message = (await store.GetAsync(id, default))!;
        Assert.Equal(size + 12, message.Size);
    }

    [Fact]
    public async Task Disposing_again_is_harmless_as_a_container_disposes_it_once_per_contract()
    {
        var store = Open();
        await store.DisposeAsync();
        await store.DisposeAsync();
    }

    [Fact]
    public async Task A_server_holds_the_roles_it_asks_for_each_time_it_asks_and_again_after_a_restart()
    {
        await using (var store = Open())
            for (var i = 0; i < 3; i++)
            {
                Assert.True(await store.HoldAsync("dsn", default));
                Assert.True(await store.HoldAsync("webhooks", default));
            }
        await using var again = Open();
        Assert.True(await again.HoldAsync("dsn", default));
    }

    [Fact]
    public async Task A_replaced_header_block_is_read_in_place_of_the_one_received()
    {
        var received = "Subject: as sent\r\nX-Spam: maybe\r\n\r\n"u8.ToArray();
        var text = RandomNumberGenerator.GetBytes(9_000); // the block is skipped across chunks of the body
        byte[] body = [.. received, .. text];
        await using var store = Open();
        var envelope = Envelope("u@example.test");
        await using (var blob = await StoreKit.WriteBodyAsync(store, body))
            await store.AcceptAsync(envelope, "Received: by test\r\n", blob, default, new ReplacedHeader("Subject: rewritten\r\n\r\n"u8.ToArray(), received.Length));
        byte[] expected = [.. "Received: by test\r\nSubject: rewritten\r\n\r\n"u8.ToArray(), .. text];
        Assert.Equal(expected, await ReadAsync(store, envelope.Id));
        Assert.Equal(expected.Length, (await store.GetAsync(envelope.Id, default))!.Size);
    }

    [Fact]
    public async Task Equal_bodies_are_stored_once_and_counted()
    {
        var body = RandomNumberGenerator.GetBytes(20_000);
        await using var store = Open();
        var a = await AcceptAsync(store, body, "X-Trace: a\r\n");
        var b = await AcceptAsync(store, body, "X-Trace: b\r\n");
        await AcceptAsync(store, RandomNumberGenerator.GetBytes(100));
        Assert.Equal(2, await Scalar("SELECT count(*) FROM blobs"));
        Assert.Equal(2, await Scalar("SELECT max(refcount) FROM blobs"));
        Assert.Equal(4 + 1, await Scalar("SELECT count(*) FROM blob_chunks")); // 20 000 bytes flushed every 5 000 (past 4 KB), plus the small body
        var storedB = await ReadAsync(store, b);
        var storedA = await ReadAsync(store, a);
        Assert.Equal([.. Encoding.ASCII.GetBytes("X-Trace: b\r\n"), .. body], storedB);
        Assert.Equal([.. Encoding.ASCII.GetBytes("X-Trace: a\r\n"), .. body], storedA);
    }

    [Fact]
    public async Task A_body_every_next_hop_took_is_stored_without_its_content_address()
    {
        var body = RandomNumberGenerator.GetBytes(100);
        await using var store = Open();
        var delivered = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var envelope = Envelope("u@example.test");
            await using var blob = await StoreKit.WriteBodyAsync(store, body);
            blob.ContentHash = SHA256.HashData(body);
            var now = DateTimeOffset.UtcNow;
            var attempt = new CutThroughAttempt(now, now, [new RecipientOutcome(0, AttemptStatus.Delivered, Ok)]);
            await store.AcceptAsync(envelope, "X-Trace: 1\r\n", blob, default, cutThrough: attempt);
            delivered.Add(envelope.Id);
        }
        await AcceptAsync(store, body);
        await AcceptAsync(store, body); // queued: these two share their blob, keyed by its hash

        Assert.Equal(3, await Scalar("SELECT count(*) FROM blobs"));
        Assert.Equal(2, await Scalar("SELECT count(*) FROM blobs WHERE hash IS NULL AND refcount = 1"));
        Assert.Equal(2, await Scalar("SELECT refcount FROM blobs WHERE hash IS NOT NULL"));
        byte[] stored = [.. Encoding.ASCII.GetBytes("X-Trace: 1\r\n"), .. body];
        foreach (var id in delivered)
            Assert.Equal(stored, await ReadAsync(store, id));
    }

    [Fact]
    public async Task Concurrent_accepts_share_commits()
    {
        var metrics = new HermodMetrics();
        var batches = new List<long>();
        using var listener = StoreKit.ListenToCommits(metrics, batches);

        await using var store = harness.Open(TimeProvider.System, metrics);
        var ids = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => AcceptAsync(store, BitConverter.GetBytes(i), "", $"r{i}@example.test"))));
        Assert.Equal(200, (await store.ListAsync(null, 1000, default)).Count);
        Assert.Equal(200, ids.Distinct().Count());
        lock (batches)
        {
            Assert.Equal(200, batches.Sum());
            Assert.True(batches.Count < 200, $"200 accepts took {batches.Count} commits: no group commit");
        }
    }

    [Fact]
    public async Task A_cut_through_attempt_is_written_with_the_message_as_the_queue_would_record_it()
    {
        await using var store = Open();
        var now = DateTimeOffset.UtcNow;
        var next = now.AddMinutes(5);
        UpstreamReply Reply(int code, string enhanced) => new("mx.example.test", new SmtpReply(code, EnhancedStatusCode.Parse(enhanced), $"said {code}"));
        var mixed = Envelope("ok@example.test", "gone@example.test", "later@example.test", "waiting@example.test");
        await using (var blob = store.CreateBlobWriter())
            await store.AcceptAsync(mixed, "", blob, default, cutThrough: new CutThroughAttempt(now, now,
            [
                new RecipientOutcome(0, AttemptStatus.Delivered, Reply(250, "2.0.0")),
                new RecipientOutcome(1, AttemptStatus.Failed, Reply(550, "5.1.1"), Dsn: DsnKind.Failure),
                new RecipientOutcome(2, AttemptStatus.Deferred, Reply(451, "4.3.0"), NextAttempt: next),
            ]));
        var deliveries = (await store.GetAsync(mixed.Id, default))!.Deliveries;
        Assert.Equal([DeliveryState.Delivered, DeliveryState.Failed, DeliveryState.Deferred, DeliveryState.Queued], deliveries.Select(d => d.State));
        Assert.Equal([1, 1, 1, 0], deliveries.Select(d => d.Attempts));
        Assert.Equal([250, 550, 451], deliveries.Take(3).Select(d => d.LastReply!.Reply.Code));
        Assert.Equal(DsnKind.Failure, deliveries[1].DsnPending);
        Assert.Equal(next.ToUnixTimeMilliseconds(), deliveries[2].NextAttempt!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(3, await Scalar($"SELECT count(*) FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id = '{mixed.Id}')"));
        Assert.Equal(4, await Scalar($"SELECT count(*) FROM events WHERE message_id = '{mixed.Id}'")); // accepted, then each answer
        Assert.Equal(0, await Scalar($"SELECT count(*) FROM messages WHERE id = '{mixed.Id}' AND finished IS NOT NULL"));

        // Every recipient answered for good: the message is finished (retention counts from now) and the queue has nothing.
        var done = Envelope("a@example.test", "b@example.test");
        await using (var blob = store.CreateBlobWriter())
            await store.AcceptAsync(done, "", blob, default, cutThrough: new CutThroughAttempt(now, now,
                [new RecipientOutcome(0, AttemptStatus.Delivered, Reply(250, "2.0.0")), new RecipientOutcome(1, AttemptStatus.Failed, Reply(550, "5.1.1"))]));
        Assert.Equal(1, await Scalar($"SELECT count(*) FROM messages WHERE id = '{done.Id}' AND finished IS NOT NULL"));
        Assert.Equal(0, await Scalar($"SELECT count(*) FROM deliveries WHERE message_id = '{done.Id}' AND due_at IS NOT NULL"));
    }

    [Fact]
    public async Task A_write_that_fails_in_a_shared_commit_spoils_none_of_the_others()
    {
        await using var store = Open();
        async Task<string> AcceptAsync(int i, string? key)
        {
            var envelope = Envelope($"r{i}@example.test");
            await using var blob = await StoreKit.WriteBodyAsync(store, Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody\r\n"));
            await store.AcceptAsync(envelope, "", blob, key is null ? null : new IdempotentResponse("acme", key, [1], 202, "{}"), default);
            return envelope.Id;
        }

        // Two of them carry the same idempotency key: the second insert of it fails, whichever commit carries it.
        var accepts = Enumerable.Range(0, 60).Select(i => Task.Run(() => AcceptAsync(i, i is 17 or 42 ? "same-key" : null))).ToList();
        await Task.WhenAll(accepts).ContinueWith(_ => { }, TaskScheduler.Default);

        var failed = accepts.Where(t => t.IsFaulted).ToList();
        var refused = Assert.Single(failed);
        Assert.IsType(harness.RefusedWrite, refused.Exception!.GetBaseException());
        Assert.Equal(59, (await store.ListAsync(null, 1000, default)).Count);
        Assert.Equal(59, await Scalar("SELECT count(*) FROM deliveries"));
        Assert.Equal(1, await Scalar("SELECT count(*) FROM idempotency"));
    }

    [Fact]
    public async Task Deliveries_start_queued_with_their_dsn_parameters()
    {
        await using var store = Open();
        var envelope = Envelope("a@example.test") with
        {
            Recipients = [new EnvelopeRecipient("a@example.test", DsnNotify.Failure | DsnNotify.Delay, "rfc822;orig@example.test"), new EnvelopeRecipient("b@example.test")],
            Ret = DsnReturn.Full,
            EnvelopeId = "env-1",
            SmtpUtf8 = true,
        };
        await using (var blob = store.CreateBlobWriter())
            await store.AcceptAsync(envelope, "", blob, default);
        var message = (await store.GetAsync(envelope.Id, default))!;
        Assert.Equal(DsnReturn.Full, message.Envelope.Ret);
        Assert.Equal("env-1", message.Envelope.EnvelopeId);
        Assert.True(message.Envelope.SmtpUtf8);
        Assert.Equal(DsnNotify.Failure | DsnNotify.Delay, message.Deliveries[0].Notify);
        Assert.Equal("rfc822;orig@example.test", message.Deliveries[0].OriginalRecipient);
        Assert.All(message.Deliveries, d => Assert.Equal(DeliveryState.Queued, d.State));
        Assert.Single(await store.ListAsync(DeliveryState.Queued, 10, default));
        Assert.Empty(await store.ListAsync(DeliveryState.Delivered, 10, default));
        Assert.Null(await store.GetAsync("NOSUCHID", default));
    }

    [Fact]
    public async Task Work_claimed_by_a_process_that_died_is_due_again_after_restart()
    {
        string id;
        await using (var store = Open())
        {
            id = await AcceptAsync(store, [1, 2, 3], "", "a@one.test", "b@one.test", "c@two.test");
            var jobs = await store.ClaimAsync(10, TimeSpan.FromHours(1), default);
            Assert.Equal(2, jobs.Count); // one per destination
            Assert.Empty(await store.ClaimAsync(10, TimeSpan.FromHours(1), default)); // in flight under the lease
            Assert.All((await store.GetAsync(id, default))!.Deliveries, d => Assert.Equal(DeliveryState.Inflight, d.State));
        } // no attempt recorded: as if the process died mid-attempt

        await using (var store = Open())
        {
            Assert.All((await store.GetAsync(id, default))!.Deliveries, d => Assert.Equal(DeliveryState.Queued, d.State));
            var again = await store.ClaimAsync(10, TimeSpan.FromHours(1), default);
            Assert.Equal(["one.test", "two.test"], again.Select(j => j.Route).Order());
            Assert.Equal(["a@one.test", "b@one.test"], again.Single(j => j.Route == "one.test").Recipients.Select(r => r.Address));
        }
    }

    [Fact]
    public async Task Held_mail_waits_without_retries_until_a_retry_or_a_restart()
    {
        string id;
        await using (var store = Open())
        {
            id = await AcceptAsync(store, [1], "", "a@local.test");
            var job = Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
            await store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
                [new RecipientOutcome(job.Recipients[0].DeliveryId, AttemptStatus.Held, UpstreamReply.NoReply(null, new(4, 3, 0), "held: no delivery target"))]), default);
            var held = (await store.GetAsync(id, default))!.Deliveries[0];
            Assert.Equal((DeliveryState.Held, 0, "held: no delivery target"), (held.State, held.Attempts, held.LastReply!.Reply.Text));
            Assert.Null(await store.NextDueAsync(default)); // nothing scheduled: no retries, no expiry
            Assert.Single(await store.ListAsync(DeliveryState.Held, 10, default));

            Assert.Equal(1, await store.RetryNowAsync(id, default)); // the operator releases it
            Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
            await store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
                [new RecipientOutcome(job.Recipients[0].DeliveryId, AttemptStatus.Held, UpstreamReply.NoReply(null, new(4, 3, 0), "held: no delivery target"))]), default);
        }
        await using (var store = Open()) // a restart (maybe with a new route) releases held mail
        {
            Assert.Equal(DeliveryState.Queued, (await store.GetAsync(id, default))!.Deliveries[0].State);
            Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
        }
    }

    [Fact]
    public async Task A_delivery_in_flight_names_the_holder_of_its_lease_until_its_attempt_is_recorded()
    {
        await using var store = Open();
        var id = await AcceptAsync(store, [1], "", "a@one.test");
        Assert.Null((await store.GetAsync(id, default))!.Deliveries[0].Node);
        var job = Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
        var inFlight = (await store.GetAsync(id, default))!.Deliveries[0];
        Assert.Equal(DeliveryState.Inflight, inFlight.State);
        Assert.False(string.IsNullOrEmpty(inFlight.Node));
        Assert.Equal(inFlight.Node, Assert.Single(await store.ListAsync(DeliveryState.Inflight, 10, default)).Deliveries[0].Node);
        await store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            [new RecipientOutcome(job.Recipients[0].DeliveryId, AttemptStatus.Delivered, new UpstreamReply("mx.one.test", new(250, new(2, 0, 0), "ok")))]), default);
        Assert.Null((await store.GetAsync(id, default))!.Deliveries[0].Node);
    }

    [Fact]
    public async Task An_expired_lease_makes_work_due_again_without_a_restart()
    {
        await using var store = Open();
        await AcceptAsync(store, [1], "", "a@one.test");
        Assert.Single(await store.ClaimAsync(10, TimeSpan.FromMilliseconds(1), default));
        await Task.Delay(20);
        Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
    }

    [Fact]
    public async Task Recorded_attempts_set_state_history_and_next_attempt()
    {
        await using var store = Open();
        var id = await AcceptAsync(store, [1], "", "a@one.test", "b@one.test");
        var job = Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
        var next = DateTimeOffset.UtcNow.AddMinutes(5);
        await store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
        [
            new RecipientOutcome(job.Recipients[0].DeliveryId, AttemptStatus.Delivered, new UpstreamReply("mx.one.test", new SmtpReply(250, new(2, 0, 0), "ok"))),
            new RecipientOutcome(job.Recipients[1].DeliveryId, AttemptStatus.Deferred, new UpstreamReply("mx.one.test", new SmtpReply(451, new(4, 3, 0), "later")), next),
        ]), default);
        var message = (await store.GetAsync(id, default))!;
        Assert.Equal([DeliveryState.Delivered, DeliveryState.Deferred], message.Deliveries.Select(d => d.State));
        Assert.Equal([1, 1], message.Deliveries.Select(d => d.Attempts));
        Assert.Equal("451 4.3.0 later", message.Deliveries[1].LastReply!.ToString());
        Assert.Equal(next.ToUnixTimeMilliseconds(), message.Deliveries[1].NextAttempt!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(2, await Scalar("SELECT count(*) FROM attempts"));
        Assert.Empty(await store.ClaimAsync(10, TimeSpan.FromHours(1), default)); // deferred: not due yet
        Assert.Equal(1, await store.RetryNowAsync(id, default));
        Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
    }

    [Fact]
    public async Task A_quarantined_recipient_is_released_onto_its_route_and_cancelled_mail_is_never_claimed()
    {
        await using var store = Open();
        var held = Envelope("a@one.test") with { Recipients = [new EnvelopeRecipient("a@one.test", Route: "quarantine:one.test")], QuarantineReason = "looks odd" };
        await using (var blob = store.CreateBlobWriter())
            await store.AcceptAsync(held, "", blob, default);
        var cancelled = await AcceptAsync(store, [1], "", "b@two.test", "c@two.test");

        Assert.Equal(2, await store.CancelAsync(cancelled, default));
        Assert.All((await store.GetAsync(cancelled, default))!.Deliveries, d => Assert.Equal(DeliveryState.Cancelled, d.State));
        Assert.Equal(0, await store.CancelAsync(cancelled, default)); // nothing left to cancel
        Assert.Equal(0, await store.RetryNowAsync(cancelled, default));

        var quarantined = Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
        Assert.Equal("quarantine:one.test", quarantined.Route);
        await store.RecordAsync(new AttemptRecord(held.Id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            [new RecipientOutcome(quarantined.Recipients[0].DeliveryId, AttemptStatus.Held, UpstreamReply.NoReply(null, new(4, 3, 0), "held: quarantine"))]), default);
        Assert.Equal(1, await store.ReleaseAsync(held.Id, default));
        var released = Assert.Single(await store.ClaimAsync(10, TimeSpan.FromHours(1), default));
        Assert.Equal(("one.test", "a@one.test"), (released.Route, released.Recipients[0].Address));
        Assert.Null((await store.GetAsync(held.Id, default))!.Deliveries[0].LastReply); // the quarantine's reason went with it
        Assert.Contains(await StoreKit.SettledEventsAsync(store, held.Id, 3), e => e is { Type: "quarantined", Detail: "looks odd" });
    }

    [Fact]
    public async Task An_owed_dsn_is_handed_out_until_the_dsn_is_queued_not_while_a_delivery_is_in_flight()
    {
        await using var store = Open();
        var id = await AcceptAsync(store, [1], "", "a@one.test", "b@two.test");
        var jobs = await store.ClaimAsync(10, TimeSpan.FromHours(1), default);
        var one = jobs.Single(j => j.Route == "one.test");
        await store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            [new RecipientOutcome(one.Recipients[0].DeliveryId, AttemptStatus.Failed, new UpstreamReply("mx", new SmtpReply(550, new(5, 1, 1), "no")), Dsn: DsnKind.Failure)]), default);
        Assert.Empty(await store.PendingDsnAsync(10, default)); // b@two.test is still in flight: one DSN for both, later

        var two = jobs.Single(j => j.Route == "two.test");
        await store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            [new RecipientOutcome(two.Recipients[0].DeliveryId, AttemptStatus.Delivered, Ok)]), default);
        var owed = Assert.Single(await store.PendingDsnAsync(10, default));
        Assert.Equal([DsnKind.Failure, DsnKind.None], owed.Deliveries.Select(d => d.DsnPending));

        var dsn = Envelope("sender@remote.test") with { Sender = "" };
        await using (var blob = await StoreKit.WriteBodyAsync(store, "the DSN"u8.ToArray()))
            await store.AcceptDsnAsync(dsn, "", blob, [owed.Deliveries[0].Id], default);
        Assert.Empty(await store.PendingDsnAsync(10, default));
        Assert.Contains(await StoreKit.SettledEventsAsync(store, id, 4), e => e.Type == "dsn" && e.Detail == $"failure notification queued as {dsn.Id}");
        Assert.Equal("the DSN"u8.ToArray(), await ReadAsync(store, dsn.Id));
    }

    [Fact]
    public async Task A_body_that_is_never_accepted_leaves_nothing_behind()
    {
        await using (var store = Open())
        {
            await using var blob = store.CreateBlobWriter();
            BuffersExtensions.Write(blob, RandomNumberGenerator.GetBytes(10_000).AsSpan());
            await blob.FlushAsync(default);
            Assert.Equal(1, await Scalar("SELECT count(*) FROM blobs WHERE refcount = 0")); // staged
        } // disposing the writer drops the staged chunks
        Assert.Equal(0, await Scalar("SELECT count(*) FROM blob_chunks"));
        Assert.Equal(0, await Scalar("SELECT count(*) FROM blobs"));
    }

    [Fact]
    public async Task Chunks_staged_by_a_process_that_died_are_removed_at_the_next_start()
    {
        await using (var store = Open())
        {
            var blob = store.CreateBlobWriter(); // never disposed: as if the process died mid-message
            BuffersExtensions.Write(blob, RandomNumberGenerator.GetBytes(10_000).AsSpan());
            await blob.FlushAsync(default);
            await AcceptAsync(store, [1, 2, 3]);
        }
        Assert.Equal(2, await Scalar("SELECT count(*) FROM blobs"));
        await using (var store = Open())
        {
            Assert.Equal(1, await Scalar("SELECT count(*) FROM blobs WHERE refcount = 1"));
            Assert.Equal(1, await Scalar("SELECT count(*) FROM blob_chunks"));
            Assert.Single(await store.ListAsync(null, 10, default));
        }
    }

    [Fact]
    public async Task A_body_without_a_content_hash_is_stored_without_a_key_and_kept_across_a_restart()
    {
        var body = RandomNumberGenerator.GetBytes(1_500);
        var envelope = Envelope("u@example.test");
        await using (var store = Open())
        {
            await using var blob = await StoreKit.WriteBodyAsync(store, body); // no hash processor ran: it is never shared
            await store.AcceptAsync(envelope, "X-Trace: 1\r\n", blob, default);
        }
        Assert.Equal(1, await Scalar("SELECT count(*) FROM blobs WHERE hash IS NULL AND refcount = 1"));
        await using (var store = Open()) // the start's clean-up removes staged bodies only
        {
            var stored = await ReadAsync(store, envelope.Id);
            Assert.Equal([.. Encoding.ASCII.GetBytes("X-Trace: 1\r\n"), .. body], stored);
        }
    }
}
