using System.Net;
using System.Text;
using Hermod.Core.Diagnostics;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Hermod.TestKit.Storage;

/// <summary>A store of the provider under test on a manual clock, with helpers to accept, finish and count.</summary>
public abstract class ManualClockStoreContract<TStore>(StoreHarness<TStore> harness) : IAsyncLifetime
    where TStore : IMessageStore, IDeliveryQueue, ISubmissionStore, IRetentionStore, IApiStore, IClusterRoles, IAsyncDisposable
{
    protected static readonly TimeSpan Week = TimeSpan.FromDays(7);
    private TStore? _store;

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2031, 3, 1, 12, 0, 0, TimeSpan.Zero));

    protected StoreHarness<TStore> Harness => harness;

    protected TStore Store => _store ?? throw new InvalidOperationException("the store opens in InitializeAsync");

    public async Task InitializeAsync()
    {
        await harness.InitializeAsync();
        _store = harness.Open(Clock, new HermodMetrics());
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
            await _store.DisposeAsync();
        await harness.DisposeAsync();
    }

    protected MessageEnvelope Envelope(string[] recipients, string? submissionId = null) => new(
        QueueId.New(Clock), "sender@client.test", [.. recipients.Select(r => new EnvelopeRecipient(r))],
        new MessageSource("http", IPAddress.Loopback, "mx.example.test", null, null), SubmissionId: submissionId);

    protected static async Task<IBlobWriter> BodyAsync(TStore store, byte[] body)
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

    protected Task<long> Count(string sql, params object[] values) => harness.CountAsync(sql, values);

    /// <summary>Rows left anywhere that hang on <paramref name="messageId"/>.</summary>
    protected async Task<long> RowsOf(string messageId) =>
        await Count("SELECT count(*) FROM messages WHERE id = $p0", messageId)
        + await Count("SELECT count(*) FROM deliveries WHERE message_id = $p0", messageId)
        + await Count("SELECT count(*) FROM events WHERE message_id = $p0", messageId)
        + await Count("SELECT count(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.message_id = $p0", messageId);

    protected static byte[] Prefixed(string prefix, byte[] body) => [.. Encoding.ASCII.GetBytes(prefix), .. body];

    protected async Task<byte[]?> ContentAsync(string messageId)
    {
        using var content = new MemoryStream();
        return await Store.CopyContentAsync(messageId, content, default) ? content.ToArray() : null;
    }
}
