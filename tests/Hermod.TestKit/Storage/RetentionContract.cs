using System.Security.Cryptography;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.TestKit.Storage;

/// <summary>Retention: what goes when, with everything that hangs on it.</summary>
public abstract class RetentionContract<TStore>(StoreHarness<TStore> harness) : ManualClockStoreContract<TStore>(harness)
    where TStore : IMessageStore, IDeliveryQueue, ISubmissionStore, IRetentionStore, IApiStore, IClusterRoles, IAsyncDisposable
{
    [Fact]
    public async Task A_finished_message_goes_with_its_history_and_blob_once_past_retention_not_before()
    {
        var body = RandomNumberGenerator.GetBytes(20_000); // several chunks
        var id = await AcceptAsync(body);
        Clock.Advance(TimeSpan.FromMinutes(5));
        await FinishAsync(id);
        Assert.True(await RowsOf(id) >= 4);
        Assert.True(await Count("SELECT count(*) FROM attempts") > 0);

        Clock.Advance(Week - TimeSpan.FromSeconds(1));
        Assert.Equal(RetentionResult.None, await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.NotNull(await Store.GetAsync(id, default));

        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(new RetentionResult(1, 1, 0), await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.Equal(0, await RowsOf(id));
        Assert.Null(await Store.GetAsync(id, default));
        Assert.Null(await ContentAsync(id));
        Assert.Equal(0, await Count("SELECT count(*) FROM blobs"));
        Assert.Equal(0, await Count("SELECT count(*) FROM blob_chunks"));
        Assert.Equal(0, await Count("SELECT count(*) FROM attempts"));
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
        Assert.Equal(0, await RowsOf(cancelled) + await RowsOf(failed));
    }

    [Fact]
    public async Task A_shared_blob_survives_until_its_last_message_goes()
    {
        var body = RandomNumberGenerator.GetBytes(30_000);
        var first = await AcceptAsync(body);
        var second = await AcceptAsync(body); // equal body: one blob, two references
        Assert.Equal(1, await Count("SELECT count(*) FROM blobs"));
        Assert.Equal(2, await Count("SELECT refcount FROM blobs"));
        var chunks = await Count("SELECT count(*) FROM blob_chunks");
        Assert.True(chunks > 1);

        await FinishAsync(first);
        Clock.Advance(Week + TimeSpan.FromSeconds(1));
        Assert.Equal(new RetentionResult(1, 0, 0), await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.Equal(1, await Count("SELECT refcount FROM blobs"));
        Assert.Equal(chunks, await Count("SELECT count(*) FROM blob_chunks"));
        Assert.Equal(Prefixed("X-Trace: 1\r\n", body), await ContentAsync(second)); // still whole

        await FinishAsync(second);
        Clock.Advance(Week + TimeSpan.FromSeconds(1));
        Assert.Equal(new RetentionResult(1, 1, 0), await Store.DeleteFinishedAsync(Week, 100, default));
        Assert.Equal(0, await Count("SELECT count(*) FROM blobs"));
        Assert.Equal(0, await Count("SELECT count(*) FROM blob_chunks"));

        // a body equal to a deleted one is stored afresh
        var third = await AcceptAsync(body);
        Assert.Equal(Prefixed("X-Trace: 1\r\n", body), await ContentAsync(third));
        Assert.Equal(1, await Count("SELECT refcount FROM blobs"));
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
        Assert.Equal(0, await RowsOf(id));
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
        Assert.Equal(0, await Count("SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task A_submission_goes_whole_once_its_last_envelope_is_past_retention()
    {
        const string Submission = "00112233445566778899aabbccddeeff";
        var first = Envelope(["a@one.test", "b@one.test"], Submission);
        var second = Envelope(["c@two.test"], Submission);
        await using (var blob = await BodyAsync(Store, RandomNumberGenerator.GetBytes(10_000)))
            await Store.AcceptSubmissionAsync(Submission, "client", [first, second], "Received: x\r\n", blob, default);
        Assert.Equal(2, await Count("SELECT refcount FROM blobs"));

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
        Assert.Equal(0, await Count("SELECT count(*) FROM submissions"));
        Assert.Equal(0, await Count("SELECT count(*) FROM blobs") + await Count("SELECT count(*) FROM blob_chunks"));
        Assert.Equal(0, await RowsOf(first.Id) + await RowsOf(second.Id));
    }
}
