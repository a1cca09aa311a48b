using System.Security.Cryptography;
using Hermod.Core.Storage;

namespace Hermod.TestKit.Storage;

/// <summary>Submissions in the store: one commit for the request, the status rule, client separation.</summary>
public abstract class SubmissionContract<TStore>(StoreHarness<TStore> harness) : ManualClockStoreContract<TStore>(harness)
    where TStore : IMessageStore, IDeliveryQueue, ISubmissionStore, IRetentionStore, IApiStore, IClusterRoles, IAsyncDisposable
{
    [Fact]
    public async Task A_submission_and_all_its_envelopes_are_stored_in_one_commit_or_not_at_all()
    {
        const string Submission = "0123456789abcdef0123456789abcdef";
        var body = RandomNumberGenerator.GetBytes(9_000); // staged in chunks before the accept
        await using (var blob = await BodyAsync(Store, body))
            await Store.AcceptSubmissionAsync(Submission, "client", [Envelope(["a@one.test"], Submission), Envelope(["b@two.test"], Submission)],
                "Received: x\r\n", blob, default);
        Assert.Equal(2, await Count("SELECT count(*) FROM messages WHERE submission_id = $p0", Submission));
        Assert.Equal(1, await Count("SELECT count(*) FROM blobs"));
        var messages = await Count("SELECT count(*) FROM messages");
        var chunks = await Count("SELECT count(*) FROM blob_chunks");
        Assert.True(chunks > 1);

        // the same id again (its submission row exists): the whole second request fails
        var again = new[] { Envelope(["c@three.test"], Submission), Envelope(["d@four.test"], Submission) };
        await using (var blob = await BodyAsync(Store, RandomNumberGenerator.GetBytes(9_000)))
            await Assert.ThrowsAsync(Harness.RefusedWrite, () => Store.AcceptSubmissionAsync(Submission, "client", again, "Received: x\r\n", blob, default));
        // a failure at the second envelope (its id is taken) undoes the submission row and the first envelope too
        const string Other = "fedcba9876543210fedcba9876543210";
        var existing = await Count("SELECT count(*) FROM messages") > 0 ? (await Store.ListAsync(null, 1, default))[0].Envelope.Id : "";
        var broken = new[] { Envelope(["e@five.test"], Other), Envelope(["f@six.test"], Other) with { Id = existing } };
        await using (var blob = await BodyAsync(Store, RandomNumberGenerator.GetBytes(9_000)))
            await Assert.ThrowsAsync(Harness.RefusedWrite, () => Store.AcceptSubmissionAsync(Other, "client", broken, "Received: x\r\n", blob, default));

        Assert.Equal(messages, await Count("SELECT count(*) FROM messages"));
        Assert.Null(await Store.GetAsync(again[0].Id, default));
        Assert.Null(await Store.GetAsync(broken[0].Id, default));
        Assert.Equal(0, await Count("SELECT count(*) FROM submissions WHERE id = $p0", Other));
        Assert.Equal(0, await Count("SELECT count(*) FROM deliveries WHERE route IN ('three.test', 'four.test', 'five.test', 'six.test')"));
        Assert.Equal(1, await Count("SELECT count(*) FROM blobs")); // the staged chunks of the failed requests were dropped
        Assert.Equal(2, await Count("SELECT refcount FROM blobs"));
        Assert.Equal(0, await Count("SELECT count(*) FROM blobs WHERE refcount = 0")); // nothing staged is left
        Assert.Equal(chunks, await Count("SELECT count(*) FROM blob_chunks"));
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
        Assert.Equal(4, await Count("SELECT refcount FROM blobs"));
        foreach (var envelope in envelopes)
            Assert.Equal(Prefixed("Received: y\r\n", body), await ContentAsync(envelope.Id));
        Assert.Equal(Prefixed("X-Trace: 1\r\n", body), await ContentAsync(single));
    }

    [Fact]
    public async Task A_body_nobody_hashed_and_staged_in_chunks_reaches_every_envelope_whole()
    {
        const string Submission = "00112233445566778899aabbccddeeff";
        var body = RandomNumberGenerator.GetBytes(3 * StoreHarness<TStore>.ChunkSize + 100); // several chunks staged before the accept
        var envelopes = new[] { Envelope(["a@one.test"], Submission), Envelope(["b@two.test"], Submission), Envelope(["c@three.test"], Submission) };
        await using (var blob = await StoreKit.WriteBodyAsync(Store, body)) // no hash processor: no content address
            await Store.AcceptSubmissionAsync(Submission, "client", envelopes, "Received: z\r\n", blob, default);
        foreach (var envelope in envelopes)
            Assert.Equal(Prefixed("Received: z\r\n", body), await ContentAsync(envelope.Id));
        Assert.Equal(1, await Count("SELECT count(*) FROM blobs"));
        Assert.Equal(3, await Count("SELECT refcount FROM blobs"));
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
