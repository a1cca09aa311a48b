using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Retention;
using Hermod.Storage.Sqlite;
using Hermod.Tests.TestKit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Hermod.Tests.Storage;

/// <summary>A SQLite store on a manual clock, with helpers to accept, finish and count.</summary>
public abstract class ManualClockStoreTests : IAsyncLifetime
{
    protected static readonly TimeSpan Week = TimeSpan.FromDays(7);
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2031, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly HermodOptions _options = new() { DataDir = Directory.CreateTempSubdirectory("hermod-retention-").FullName };
    private readonly SqliteStorageOptions _storage = new() { ChunkSize = 4096 };

    protected ManualClockStoreTests() => Store = new SqliteMessageStore(_options, _storage, new HermodMetrics(), Clock, NullLogger.Instance);

    protected SqliteMessageStore Store { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_options.DataDir, recursive: true);
    }

    protected MessageEnvelope Envelope(string[] recipients, string? submissionId = null) => new(
        QueueId.New(Clock), "sender@client.test", [.. recipients.Select(r => new EnvelopeRecipient(r))],
        new MessageSource("http", IPAddress.Loopback, "mx.example.test", null, null), SubmissionId: submissionId);

    protected static async Task<IBlobWriter> BodyAsync(SqliteMessageStore store, byte[] body)
    {
        var blob = await StoreKit.WriteBodyAsync(store, body);
        blob.ContentHash = System.Security.Cryptography.SHA256.HashData(body); // what the hash processor gives a session's body
        return blob;
    }

    protected async Task<string> AcceptAsync(byte[] body, params string[] recipients)
    {
        var envelope = Envelope(recipients.Length == 0 ? ["u@dest.test"] : recipients);
        await using var blob = await BodyAsync(Store, body);
        await Store.AcceptAsync(envelope, "X-Trace: 1\r\n", blob, default);
        return envelope.Id;
    }

    /// <summary>Records one attempt that ends every recipient of the message with <paramref name="status"/>, now.</summary>
    protected async Task FinishAsync(string messageId, AttemptStatus status = AttemptStatus.Delivered, DsnKind dsn = DsnKind.None)
    {
        var message = (await Store.GetAsync(messageId, default))!;
        var now = Clock.GetUtcNow();
        var reply = status == AttemptStatus.Delivered ? new UpstreamReply("mx.dest.test", new SmtpReply(250, new(2, 0, 0), "ok")) : new UpstreamReply("mx.dest.test", new SmtpReply(550, new(5, 1, 1), "no"));
        await Store.RecordAsync(new AttemptRecord(messageId, now, now,
            [.. message.Deliveries.Select(d => new RecipientOutcome(d.Id, status, reply, null, dsn))]), default);
    }

    protected long Count(string sql, params object[] values) => StoreKit.Scalar(Store.DatabasePath, sql, values);

    /// <summary>Rows left anywhere that hang on <paramref name="messageId"/>.</summary>
    protected long RowsOf(string messageId) =>
        Count("SELECT count(*) FROM messages WHERE id = $p0", messageId)
        + Count("SELECT count(*) FROM deliveries WHERE message_id = $p0", messageId)
        + Count("SELECT count(*) FROM events WHERE message_id = $p0", messageId)
        + Count("SELECT count(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.message_id = $p0", messageId);

    protected static byte[] Prefixed(string prefix, byte[] body) => [.. Encoding.ASCII.GetBytes(prefix), .. body];

    protected async Task<byte[]?> ContentAsync(string messageId)
    {
        using var content = new MemoryStream();
        return await Store.CopyContentAsync(messageId, content, default) ? content.ToArray() : null;
    }
}

public sealed class RetentionTests : ManualClockStoreTests
{
    [Fact]
    public async Task A_finished_message_goes_with_its_history_and_blob_once_past_retention_not_before()
    {
        var body = RandomNumberGenerator.GetBytes(20_000); // several chunks
        var id = await AcceptAsync(body);
        Clock.Advance(TimeSpan.FromMinutes(5));
        await FinishAsync(id);
        Assert.True(RowsOf(id) >= 4);
        Assert.True(Count("SELECT count(*) FROM attempts") > 0);

        Clock.Advance(Week - TimeSpan.FromSeconds(1));
        Assert.Equal(RetentionResult.None, await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.NotNull(await Store.GetAsync(id, default));

        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(new RetentionResult(1, 1, 0), await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.Equal(0, RowsOf(id));
        Assert.Null(await Store.GetAsync(id, default));
        Assert.Null(await ContentAsync(id));
        Assert.Equal(0, Count("SELECT count(*) FROM blobs"));
        Assert.Equal(0, Count("SELECT count(*) FROM blob_chunks"));
        Assert.Equal(0, Count("SELECT count(*) FROM attempts"));
        Assert.Equal(RetentionResult.None, await Store.DeleteFinishedAsync(Week, 100, default)); // nothing left to do
    }

    [Fact]
    public async Task Unfinished_messages_stay_however_old()
    {
        var queued = await AcceptAsync([1, 2, 3]);
        var partly = await AcceptAsync([4, 5, 6], "a@dest.test", "b@dest.test");
        var message = (await Store.GetAsync(partly, default))!;
        var now = Clock.GetUtcNow();
        await Store.RecordAsync(new AttemptRecord(partly, now, now,
        [
            new RecipientOutcome(message.Deliveries[0].Id, AttemptStatus.Delivered, new UpstreamReply("mx", new SmtpReply(250, new(2, 0, 0), "ok"))),
            new RecipientOutcome(message.Deliveries[1].Id, AttemptStatus.Deferred, new UpstreamReply("mx", new SmtpReply(451, new(4, 3, 0), "later")), now.AddDays(100)),
        ]), default);
        Clock.Advance(TimeSpan.FromDays(365));
        Assert.Equal(RetentionResult.None, await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.NotNull(await Store.GetAsync(queued, default));
        Assert.NotNull(await Store.GetAsync(partly, default));
    }

    [Fact]
    public async Task Cancelled_and_failed_messages_count_as_finished()
    {
        var cancelled = await AcceptAsync([1]);
        Assert.Equal(1, await Store.CancelAsync(cancelled, default));
        var failed = await AcceptAsync([2]);
        await FinishAsync(failed, AttemptStatus.Failed);
        Clock.Advance(Week + TimeSpan.FromMinutes(1));
        Assert.Equal(2, (await Store.DeleteFinishedAsync(Week, 100, default)).Messages);
        Assert.Equal(0, RowsOf(cancelled) + RowsOf(failed));
    }

    [Fact]
    public async Task A_shared_blob_survives_until_its_last_message_goes()
    {
        var body = RandomNumberGenerator.GetBytes(30_000);
        var first = await AcceptAsync(body);
        var second = await AcceptAsync(body); // equal body: one blob, two references
        Assert.Equal(1, Count("SELECT count(*) FROM blobs"));
        Assert.Equal(2, Count("SELECT refcount FROM blobs"));
        var chunks = Count("SELECT count(*) FROM blob_chunks");
        Assert.True(chunks > 1);

        await FinishAsync(first);
        Clock.Advance(Week + TimeSpan.FromSeconds(1));
        Assert.Equal(new RetentionResult(1, 0, 0), await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.Equal(1, Count("SELECT refcount FROM blobs"));
        Assert.Equal(chunks, Count("SELECT count(*) FROM blob_chunks"));
        Assert.Equal(Prefixed("X-Trace: 1\r\n", body), await ContentAsync(second)); // still whole

        await FinishAsync(second);
        Clock.Advance(Week + TimeSpan.FromSeconds(1));
        Assert.Equal(new RetentionResult(1, 1, 0), await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.Equal(0, Count("SELECT count(*) FROM blobs"));
        Assert.Equal(0, Count("SELECT count(*) FROM blob_chunks"));

        // a body equal to a deleted one is stored afresh
        var third = await AcceptAsync(body);
        Assert.Equal(Prefixed("X-Trace: 1\r\n", body), await ContentAsync(third));
        Assert.Equal(1, Count("SELECT refcount FROM blobs"));
    }

    [Fact]
    public async Task A_message_that_still_owes_a_dsn_stays_until_the_dsn_is_queued()
    {
        var id = await AcceptAsync([7]);
        await FinishAsync(id, AttemptStatus.Failed, DsnKind.Failure);
        Clock.Advance(Week + TimeSpan.FromDays(1));
        Assert.Equal(RetentionResult.None, await Store.DeleteFinishedAsync(Week, 100, default));

        var owed = Assert.Single(await Store.PendingDsnAsync(10, default));
        var dsn = Envelope(["sender@client.test"]) with { Sender = "" };
        await using (var blob = await BodyAsync(Store, "the DSN"u8.ToArray()))
            await Store.AcceptDsnAsync(dsn, "", blob, [owed.Deliveries[0].Id], default);
        Assert.Equal(1, (await Store.DeleteFinishedAsync(Week, 100, default)).Messages);
        Assert.Equal(0, RowsOf(id));
        Assert.NotNull(await Store.GetAsync(dsn.Id, default)); // the DSN itself is not finished
    }

    [Fact]
    public async Task Deletion_goes_in_batches_of_the_given_size_oldest_first()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await AcceptAsync([(byte)i]));
            await FinishAsync(ids[^1]);
            Clock.Advance(TimeSpan.FromMinutes(1));
        }
        Clock.Advance(Week);
        Assert.Equal(2, (await Store.DeleteFinishedAsync(Week, 2, default)).Messages);
        Assert.Null(await Store.GetAsync(ids[0], default));
        Assert.Null(await Store.GetAsync(ids[1], default));
        Assert.NotNull(await Store.GetAsync(ids[2], default));
        Assert.Equal(2, (await Store.DeleteFinishedAsync(Week, 2, default)).Messages);
        Assert.Equal(1, (await Store.DeleteFinishedAsync(Week, 2, default)).Messages);
        Assert.Equal(0, Count("SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task A_submission_goes_whole_once_its_last_envelope_is_past_retention()
    {
        const string Submission = "00112233445566778899aabbccddeeff";
        var first = Envelope(["a@one.test", "b@one.test"], Submission);
        var second = Envelope(["c@two.test"], Submission);
        await using (var blob = await BodyAsync(Store, RandomNumberGenerator.GetBytes(10_000)))
            await Store.AcceptSubmissionAsync(Submission, "client", [first, second], "Received: x\r\n", blob, default);
        Assert.Equal(2, Count("SELECT refcount FROM blobs"));

        await FinishAsync(first.Id);
        Clock.Advance(TimeSpan.FromDays(3));
        await FinishAsync(second.Id);
        Assert.Equal(SubmissionStatus.Sent, await Store.GetSubmissionStatusAsync(Submission, "client", default));

        // the first envelope is past retention, the second is not: both stay, so the status stays whole
        Clock.Advance(Week - TimeSpan.FromDays(1));
        Assert.Equal(RetentionResult.None, await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.Equal(SubmissionStatus.Sent, await Store.GetSubmissionStatusAsync(Submission, "client", default));

        Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(new RetentionResult(2, 1, 1), await Store.DeleteFinishedAsync(Week, 1, default)); // the batch limit does not split it
        Assert.Null(await Store.GetSubmissionStatusAsync(Submission, "client", default));
        Assert.Equal(0, Count("SELECT count(*) FROM submissions"));
        Assert.Equal(0, Count("SELECT count(*) FROM blobs") + Count("SELECT count(*) FROM blob_chunks"));
        Assert.Equal(0, RowsOf(first.Id) + RowsOf(second.Id));
    }
}

/// <summary>Submissions in the store: one commit for the request, the status rule, client separation.</summary>
public sealed class SubmissionStoreTests : ManualClockStoreTests
{
    [Fact]
    public async Task A_submission_and_all_its_envelopes_are_stored_in_one_commit_or_not_at_all()
    {
        const string Submission = "0123456789abcdef0123456789abcdef";
        var body = RandomNumberGenerator.GetBytes(9_000); // staged in chunks before the accept
        await using (var blob = await BodyAsync(Store, body))
            await Store.AcceptSubmissionAsync(Submission, "client", [Envelope(["a@one.test"], Submission), Envelope(["b@two.test"], Submission)],
                "Received: x\r\n", blob, default);
        Assert.Equal(2, Count("SELECT count(*) FROM messages WHERE submission_id = $p0", Submission));
        Assert.Equal(1, Count("SELECT count(*) FROM blobs"));
        var messages = Count("SELECT count(*) FROM messages");
        var chunks = Count("SELECT count(*) FROM blob_chunks");
        Assert.True(chunks > 1);

        // the same id again (its submission row exists): the whole second request fails
        var again = new[] { Envelope(["c@three.test"], Submission), Envelope(["d@four.test"], Submission) };
        await using (var blob = await BodyAsync(Store, RandomNumberGenerator.GetBytes(9_000)))
            await Assert.ThrowsAsync<SqliteException>(() => Store.AcceptSubmissionAsync(Submission, "client", again, "Received: x\r\n", blob, default));
        // a failure at the second envelope (its id is taken) undoes the submission row and the first envelope too
        const string Other = "fedcba9876543210fedcba9876543210";
        var existing = Count("SELECT count(*) FROM messages") > 0 ? (await Store.ListAsync(null, 1, default))[0].Envelope.Id : "";
        var broken = new[] { Envelope(["e@five.test"], Other), Envelope(["f@six.test"], Other) with { Id = existing } };
        await using (var blob = await BodyAsync(Store, RandomNumberGenerator.GetBytes(9_000)))
            await Assert.ThrowsAsync<SqliteException>(() => Store.AcceptSubmissionAsync(Other, "client", broken, "Received: x\r\n", blob, default));

        Assert.Equal(messages, Count("SELECT count(*) FROM messages"));
        Assert.Null(await Store.GetAsync(again[0].Id, default));
        Assert.Null(await Store.GetAsync(broken[0].Id, default));
        Assert.Equal(0, Count("SELECT count(*) FROM submissions WHERE id = $p0", Other));
        Assert.Equal(0, Count("SELECT count(*) FROM deliveries WHERE route IN ('three.test', 'four.test', 'five.test', 'six.test')"));
        Assert.Equal(1, Count("SELECT count(*) FROM blobs")); // the staged chunks of the failed requests were dropped
        Assert.Equal(2, Count("SELECT refcount FROM blobs"));
        Assert.Equal(0, Count("SELECT count(*) FROM blobs WHERE refcount = 0")); // nothing staged is left
        Assert.Equal(chunks, Count("SELECT count(*) FROM blob_chunks"));
    }

    [Fact]
    public async Task A_small_body_equal_to_a_stored_one_is_shared_by_every_envelope()
    {
        var body = "From: a\r\n\r\nsame\r\n"u8.ToArray();
        var single = await AcceptAsync(body);
        const string Submission = "ffeeddccbbaa99887766554433221100";
        var envelopes = new[] { Envelope(["a@one.test"], Submission), Envelope(["b@two.test"], Submission), Envelope(["c@three.test"], Submission) };
        await using (var blob = await BodyAsync(Store, body))
            await Store.AcceptSubmissionAsync(Submission, "client", envelopes, "Received: y\r\n", blob, default);
        Assert.Equal(4, Count("SELECT refcount FROM blobs"));
        foreach (var envelope in envelopes)
            Assert.Equal(Prefixed("Received: y\r\n", body), await ContentAsync(envelope.Id));
        Assert.Equal(Prefixed("X-Trace: 1\r\n", body), await ContentAsync(single));
    }

    [Fact]
    public async Task The_status_is_only_for_the_client_that_sent_it()
    {
        const string Submission = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        await using (var blob = await BodyAsync(Store, [1, 2, 3]))
            await Store.AcceptSubmissionAsync(Submission, "owner", [Envelope(["a@one.test"], Submission)], "", blob, default);
        Assert.Equal(SubmissionStatus.Queued, await Store.GetSubmissionStatusAsync(Submission, "owner", default));
        Assert.Null(await Store.GetSubmissionStatusAsync(Submission, "someone-else", default));
        Assert.Null(await Store.GetSubmissionStatusAsync("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "owner", default));
    }

    [Fact]
    public async Task Envelopes_of_another_submission_are_refused()
    {
        await using var blob = await BodyAsync(Store, [1]);
        await Assert.ThrowsAsync<ArgumentException>(() => Store.AcceptSubmissionAsync("s1", "c", [Envelope(["a@one.test"], "s2")], "", blob, default));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.AcceptSubmissionAsync("s1", "c", [], "", blob, default));
    }
}

/// <summary>Retention through the running host: the service deletes, and /status forgets the id.</summary>
public sealed class RetentionServiceTests
{
    private const string Client = "retention-client";

    [Fact]
    public async Task After_retention_a_submission_id_is_unknown_to_status()
    {
        await using var host = await TestHost.StartAsync(o =>
        {
            o.Http.MiniMailgun.Clients = [Client];
            o.Delivery.Retention = TimeSpan.FromMilliseconds(1);
        });
        using var http = new HttpClient { BaseAddress = host.Http };
        async Task<string> PostAsync(string path, string json)
        {
            using var response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsStringAsync();
        }

        var sent = await PostAsync("/send", $$"""{"client_id":"{{Client}}","sender":"a@client.test","recipients":["x@one.test","y@two.test"],"subject":"s","body":"b"}""");
        var id = System.Text.Json.JsonDocument.Parse(sent).RootElement.GetProperty("submission_id").GetString()!;
        var status = $$"""{"client_id":"{{Client}}","submission_id":"{{id}}"}""";
        var retention = host.Host.Services.GetRequiredService<RetentionService>();
        Assert.Equal(0, (await retention.RunOnceAsync(default)).Messages); // not finished: kept

        var queue = host.Host.Services.GetRequiredService<IDeliveryQueue>();
        foreach (var message in (await host.Store.ListAsync(null, 100, default)).Where(m => m.Envelope.SubmissionId == id))
            Assert.Equal(1, await queue.CancelAsync(message.Envelope.Id, default));
        Assert.Equal("""{"result":"success","status":"undeliverable"}""", await PostAsync("/status", status));

        await Task.Delay(20); // past the 1 ms retention
        Assert.Equal(new RetentionResult(2, 1, 1), await retention.RunOnceAsync(default));
        Assert.Equal($$"""{"result":"error","message":"unknown submission id {{id}}"}""", await PostAsync("/status", status));
        Assert.Empty(await host.Store.ListAsync(null, 100, default));
    }

    [Fact]
    public async Task With_the_default_retention_nothing_recent_is_deleted()
    {
        await using var host = await TestHost.StartAsync();
        var queue = host.Host.Services.GetRequiredService<IDeliveryQueue>();
        var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), "a@b.test", [new EnvelopeRecipient("c@d.test")],
            new MessageSource("mx", IPAddress.Loopback, "h", null, null));
        await using (var blob = host.Store.CreateBlobWriter())
        {
            BuffersExtensions.Write(blob, "x"u8);
            await host.Store.AcceptAsync(envelope, "", blob, default);
        }
        await queue.CancelAsync(envelope.Id, default);
        Assert.Equal(TimeSpan.FromDays(7), host.Options.Delivery.Retention);
        Assert.Equal(RetentionResult.None, await host.Host.Services.GetRequiredService<RetentionService>().RunOnceAsync(default));
        Assert.NotNull(await host.Store.GetAsync(envelope.Id, default));
    }
}
