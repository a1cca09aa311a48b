using Hermod.Core.Storage;

namespace Hermod.TestKit.Storage;

/// <summary>What the HTTP API keeps in the store: keys and their tenants, idempotent responses, the event feed and webhook positions.</summary>
public abstract class ApiStoreContract<TStore>(StoreHarness<TStore> harness) : ManualClockStoreContract<TStore>(harness)
    where TStore : IMessageStore, IDeliveryQueue, ISubmissionStore, IRetentionStore, IApiStore, IClusterRoles, IAsyncDisposable
{
    [Fact]
    public async Task A_key_authenticates_its_tenant_and_nothing_else_does()
    {
        var acme = await Store.CreateApiKeyAsync("acme", default);
        var other = await Store.CreateApiKeyAsync("other", default);
        Assert.NotEqual(acme, other);
        Assert.Equal("acme", await Store.AuthenticateAsync(acme, default));
        Assert.Equal("other", await Store.AuthenticateAsync(other, default));
        Assert.Null(await Store.AuthenticateAsync(acme[..^1] + (acme[^1] == 'A' ? 'B' : 'A'), default)); // the right id, a wrong secret
        Assert.Null(await Store.AuthenticateAsync("hmd_000000000000_secret", default));
        Assert.Null(await Store.AuthenticateAsync("not-a-key", default));
        Assert.Equal(0, await Count("SELECT count(*) FROM api_keys WHERE hash = $p0", System.Text.Encoding.UTF8.GetBytes(acme))); // only a hash is kept
    }

    [Fact]
    public async Task An_idempotent_response_is_kept_with_its_message_per_tenant()
    {
        var envelope = Envelope(["a@dest.test"]);
        await using (var blob = await BodyAsync(Store, [1, 2, 3]))
            await Store.AcceptAsync(envelope, "", blob, new IdempotentResponse("acme", "key-1", [9, 9], 202, "{\"id\":1}"), default);
        var kept = await Store.FindIdempotentAsync("acme", "key-1", default);
        Assert.NotNull(kept);
        Assert.Equal([9, 9], kept.RequestHash);
        Assert.Equal((202, "{\"id\":1}"), (kept.Status, kept.Body));
        Assert.Null(await Store.FindIdempotentAsync("other", "key-1", default));
        Assert.Null(await Store.FindIdempotentAsync("acme", "key-2", default));
        Assert.NotNull(await Store.GetAsync(envelope.Id, default));
    }

    [Fact]
    public async Task The_event_feed_pages_by_cursor_and_filters_by_message_and_tenant()
    {
        var first = await AcceptAsync([1], "a@dest.test");
        var tenant = Envelope(["b@dest.test"]) with { Source = Envelope(["b@dest.test"]).Source with { Tenant = "acme" } };
        await using (var blob = await BodyAsync(Store, [2]))
            await Store.AcceptAsync(tenant, "", blob, default);
        await FinishAsync(first);

        var all = await StoreKit.SettledEventsAsync(Store, null, 3);
        Assert.Equal([(first, "accepted"), (tenant.Id, "accepted"), (first, "delivered")], all.Select(e => (e.MessageId, e.Type)));
        Assert.True(all[0].Id < all[1].Id && all[1].Id < all[2].Id);
        Assert.Equal("a@dest.test", all[2].Recipient);
        Assert.Equal("acme", all[1].Tenant);
        Assert.Equal(Clock.GetUtcNow(), all[2].At);

        var page = await Store.EventsAsync(null, null, 0, 2, default);
        Assert.Equal(all.Take(2).Select(e => e.Id), page.Select(e => e.Id));
        Assert.Equal([all[2].Id], (await Store.EventsAsync(null, null, page[^1].Id, 2, default)).Select(e => e.Id));
        Assert.Equal([all[0].Id, all[2].Id], (await Store.EventsAsync(first, null, 0, 100, default)).Select(e => e.Id));
        Assert.Equal([all[1].Id], (await Store.EventsAsync(null, "acme", 0, 100, default)).Select(e => e.Id));

        var attempt = Assert.Single(await Store.AttemptsAsync(first, default));
        Assert.Equal(((int?)250, "mx.dest.test", "ok"), (attempt.Code, attempt.RemoteHost, attempt.Text));
    }

    [Fact]
    public async Task A_webhook_position_is_kept_per_receiver_and_moves_on()
    {
        Assert.Equal(0, await Store.WebhookCursorAsync("https://hooks.test/a", default));
        await Store.SaveWebhookCursorAsync("https://hooks.test/a", 7, default);
        await Store.SaveWebhookCursorAsync("https://hooks.test/b", 3, default);
        await Store.SaveWebhookCursorAsync("https://hooks.test/a", 12, default);
        Assert.Equal(12, await Store.WebhookCursorAsync("https://hooks.test/a", default));
        Assert.Equal(3, await Store.WebhookCursorAsync("https://hooks.test/b", default));
    }
}
