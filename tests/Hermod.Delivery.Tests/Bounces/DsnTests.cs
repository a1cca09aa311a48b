using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Bounces;
using Hermod.Delivery.Configuration;
using Hermod.Storage.Sqlite;
using Hermod.TestKit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Delivery.Tests.Bounces;

/// <summary>DSNs built from stored messages, queued by the bounce service and read back by Python's email package.</summary>
public sealed class DsnTests : IAsyncLifetime
{
    private readonly HermodOptions _options = new() { Hostname = "mx.example.test", DataDir = Directory.CreateTempSubdirectory("hermod-dsn-").FullName };
    private SqliteMessageStore _store = null!;
    private BounceService _bounces = null!;

    public Task InitializeAsync()
    {
        _store = new SqliteMessageStore(_options, new SqliteStorageOptions(), new HermodMetrics(), TimeProvider.System, NullLogger.Instance);
        _bounces = new BounceService(_options, new DeliveryOptions(), _store, _store, _store, TimeProvider.System, NullLogger<BounceService>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _bounces.Dispose();
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_options.DataDir, recursive: true);
    }

    private const string Original = "Subject: the original\r\nFrom: sender@remote.test\r\nMessage-ID: <orig@remote.test>\r\n\r\nthe body text\r\n";

    private async Task<string> AcceptAsync(string sender, DsnReturn ret, params EnvelopeRecipient[] recipients)
    {
        var envelope = new MessageEnvelope(QueueId.New(TimeProvider.System), sender, recipients,
            new MessageSource("mx", IPAddress.Loopback, "client.test", null, null), Ret: ret, EnvelopeId: "env-42");
        await using var blob = _store.CreateBlobWriter();
        blob.Write(Encoding.ASCII.GetBytes(Original).AsSpan());
        await _store.AcceptAsync(envelope, "Received: from client.test\r\n", blob, default);
        return envelope.Id;
    }

    /// <summary>Claims the message's deliveries and records the given replies as final failures owing a DSN.</summary>
    private async Task FailAsync(string id, params UpstreamReply[] replies)
    {
        var job = Assert.Single(await _store.ClaimAsync(10, TimeSpan.FromMinutes(5), default), j => j.Message.Envelope.Id == id);
        var outcomes = job.Recipients.Select((r, i) => new RecipientOutcome(r.DeliveryId, AttemptStatus.Failed, replies[i], null, DsnKind.Failure)).ToList();
        await _store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, outcomes), default);
    }

    private async Task<StoredMessage[]> DsnsAsync() =>
        [.. (await _store.ListAsync(null, 100, default)).Where(m => m.Envelope.Sender.Length == 0)];

    private async Task<JsonElement> ParseAsync(string id)
    {
        var file = Path.Combine(_options.DataDir, id + ".eml");
        await using (var output = File.Create(file))
            await _store.CopyContentAsync(id, output, default);
        var result = await Peers.RunAsync(Peers.Python, [Peers.Script("Bounces/scripts/parse_dsn.py"), file], TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    [Fact]
    public async Task One_dsn_lists_every_failed_recipient_and_carries_the_original_headers()
    {
        var id = await AcceptAsync("sender@remote.test", DsnReturn.Default,
            new EnvelopeRecipient("a@dest.test", DsnNotify.Default, "rfc822;alias@dest.test"),
            new EnvelopeRecipient("b@dest.test"));
        await FailAsync(id, new UpstreamReply("mx1.dest.test", new SmtpReply(550, new(5, 1, 1), "user unknown")), UpstreamReply.NoReply(null, new(5, 1, 10), "null MX"));
        await _bounces.SendPendingAsync(default);

        var dsn = Assert.Single(await DsnsAsync());
        Assert.Equal(["sender@remote.test"], dsn.Deliveries.Select(d => d.Recipient));
        Assert.Equal(DsnNotify.Never, dsn.Deliveries[0].Notify);
        var parsed = await ParseAsync(dsn.Envelope.Id);
        Assert.Equal("multipart/report", parsed.GetProperty("content_type").GetString());
        Assert.Equal("delivery-status", parsed.GetProperty("report_type").GetString());
        Assert.Equal(["text/plain", "message/delivery-status", "text/rfc822-headers"], parsed.GetProperty("parts").EnumerateArray().Select(p => p.GetString()));
        Assert.Empty(parsed.GetProperty("defects").EnumerateArray());
        Assert.Equal("Undelivered Mail Returned to Sender", parsed.GetProperty("subject").GetString());
        Assert.Equal("auto-replied", parsed.GetProperty("auto_submitted").GetString());

        var perMessage = parsed.GetProperty("per_message");
        Assert.Equal("dns; mx.example.test", perMessage.GetProperty("Reporting-MTA").GetString());
        Assert.Equal("env-42", perMessage.GetProperty("Original-Envelope-Id").GetString());
        Assert.True(perMessage.TryGetProperty("Arrival-Date", out _));

        var recipients = parsed.GetProperty("per_recipient").EnumerateArray().ToList();
        Assert.Equal(2, recipients.Count);
        Assert.Equal("rfc822; a@dest.test", recipients[0].GetProperty("Final-Recipient").GetString());
        Assert.Equal("rfc822;alias@dest.test", recipients[0].GetProperty("Original-Recipient").GetString());
        Assert.Equal("failed", recipients[0].GetProperty("Action").GetString());
        Assert.Equal("5.1.1", recipients[0].GetProperty("Status").GetString());
        Assert.Equal("dns; mx1.dest.test", recipients[0].GetProperty("Remote-MTA").GetString());
        Assert.Equal("smtp; 550 5.1.1 user unknown", recipients[0].GetProperty("Diagnostic-Code").GetString());
        Assert.Equal("5.1.10", recipients[1].GetProperty("Status").GetString());
        Assert.False(recipients[1].TryGetProperty("Remote-MTA", out _));

        var original = parsed.GetProperty("original").GetString()!;
        Assert.Contains("Subject: the original", original);
        Assert.DoesNotContain("the body text", original);

        await _bounces.SendPendingAsync(default); // what was owed is cleared: no second DSN
        Assert.Single(await DsnsAsync());
    }

    [Fact]
    public async Task Ret_full_returns_the_whole_message()
    {
        var id = await AcceptAsync("sender@remote.test", DsnReturn.Full, new EnvelopeRecipient("a@dest.test"));
        await FailAsync(id, new UpstreamReply("mx1.dest.test", new SmtpReply(554, new(5, 7, 1), "rejected")));
        await _bounces.SendPendingAsync(default);
        var parsed = await ParseAsync(Assert.Single(await DsnsAsync()).Envelope.Id);
        Assert.Equal("message/rfc822", parsed.GetProperty("parts")[2].GetString());
        Assert.Contains("the body text", parsed.GetProperty("original").GetString());
    }

    [Fact]
    public async Task No_dsn_while_a_delivery_of_the_message_is_in_flight()
    {
        var id = await AcceptAsync("sender@remote.test", DsnReturn.Default, new EnvelopeRecipient("a@one.test"), new EnvelopeRecipient("b@two.test"));
        var jobs = (await _store.ClaimAsync(10, TimeSpan.FromMinutes(5), default)).Where(j => j.Message.Envelope.Id == id).ToList();
        Assert.Equal(2, jobs.Count); // one job per destination
        var first = jobs.Single(j => j.Route == "one.test");
        await _store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            [new RecipientOutcome(first.Recipients[0].DeliveryId, AttemptStatus.Failed, new UpstreamReply("mx.one.test", new SmtpReply(550, new(5, 1, 1), "no")), null, DsnKind.Failure)]), default);
        await _bounces.SendPendingAsync(default);
        Assert.Empty(await DsnsAsync());

        var second = jobs.Single(j => j.Route == "two.test");
        await _store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            [new RecipientOutcome(second.Recipients[0].DeliveryId, AttemptStatus.Failed, new UpstreamReply("mx.two.test", new SmtpReply(550, new(5, 1, 1), "no")), null, DsnKind.Failure)]), default);
        await _bounces.SendPendingAsync(default);
        var parsed = await ParseAsync(Assert.Single(await DsnsAsync()).Envelope.Id);
        Assert.Equal(2, parsed.GetProperty("per_recipient").GetArrayLength());
    }

    [Fact]
    public async Task A_delay_warning_says_delayed_and_when_retries_end()
    {
        var id = await AcceptAsync("sender@remote.test", DsnReturn.Default, new EnvelopeRecipient("a@dest.test"));
        var job = Assert.Single(await _store.ClaimAsync(10, TimeSpan.FromMinutes(5), default));
        await _store.RecordAsync(new AttemptRecord(id, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
            [new RecipientOutcome(job.Recipients[0].DeliveryId, AttemptStatus.Deferred, new UpstreamReply("mx.dest.test", new SmtpReply(451, new(4, 3, 0), "later")), DateTimeOffset.UtcNow.AddHours(1), DsnKind.Delay)]), default);
        await _bounces.SendPendingAsync(default);
        var parsed = await ParseAsync(Assert.Single(await DsnsAsync()).Envelope.Id);
        Assert.Equal("Delayed Mail (still being retried)", parsed.GetProperty("subject").GetString());
        var recipient = parsed.GetProperty("per_recipient")[0];
        Assert.Equal("delayed", recipient.GetProperty("Action").GetString());
        Assert.Equal("4.3.0", recipient.GetProperty("Status").GetString());
        Assert.True(recipient.TryGetProperty("Will-Retry-Until", out _));
        var message = (await _store.GetAsync(id, default))!;
        Assert.Equal(DeliveryState.Deferred, message.Deliveries[0].State); // still being retried
    }
}
