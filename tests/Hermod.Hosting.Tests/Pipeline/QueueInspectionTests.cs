using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Hermod.Hosting.Tests.Interop;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>
/// The pipeline tests read the queue of a running server with `hermod queue list --json`, as an operator does. Looking
/// must not change what it looks at: not held deliveries, not deliveries in flight, not a body still streaming in.
/// </summary>
public sealed class QueueInspectionTests
{
    private static JsonElement Recipient(JsonElement list, string id, string address) =>
        list.EnumerateArray().Single(m => m.GetProperty("id").GetString() == id)
            .GetProperty("recipients").EnumerateArray().Single(r => r.GetProperty("address").GetString() == address);

    [Fact]
    public async Task Queue_list_shows_quarantined_mail_as_held_and_leaves_it_held()
    {
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "inbound",
            Delivery = true,
            Pipelines = """
                inbound:
                  deliver_to: [quarantine]
                """,
        });
        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["suspect@example.test"], "Subject: held\r\n\r\nx\r\n.\r\n");
        await host.WaitAsync(id, m => m.Deliveries[0].State == DeliveryState.Held);

        var listed = Recipient(await host.QueueListAsync(), id, "suspect@example.test");
        Assert.Equal("held", listed.GetProperty("state").GetString());
        Assert.Contains("quarantine", listed.GetProperty("last_reply").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Queue_list_while_a_delivery_is_in_flight_does_not_start_a_second_one()
    {
        await using var receiver = await HttpReceiver.StartAsync("stall,200"); // the first request is never answered
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "archiving",
            Delivery = true,
            Targets = $$"""
                archive: { type: http, url: "{{receiver.Url}}", timeout: 20s }
                """,
            Pipelines = """
                archiving:
                  deliver_to: [archive]
                """,
        });
        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["user@example.test"], "Subject: slow\r\n\r\nx\r\n.\r\n");
        await receiver.ReceivedAsync(1); // the attempt is under way, waiting for an answer

        var listed = Recipient(await host.QueueListAsync(), id, "user@example.test");
        // longer than the queue runner's idle check (5 s: it notices work made due by another process), well within
        // the target's 20 s timeout: a second attempt would have started by now
        await Task.Delay(TimeSpan.FromSeconds(7));
        Assert.Equal(1, receiver.RequestCount); // no second, concurrent copy
        Assert.Equal("inflight", listed.GetProperty("state").GetString());
        Assert.Equal(DeliveryState.Inflight, (await host.GetAsync(id)).Deliveries[0].State);
    }

    [Fact]
    public async Task Queue_list_while_a_large_body_streams_in_leaves_the_body_intact()
    {
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup());

        var line = "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n";
        var head = new StringBuilder("Subject: large\r\n\r\n");
        while (head.Length < 1024 * 1024) // several storage chunks (256 KiB each by default)
            head.Append(line);
        const string tail = "the end of the body\r\n";

        await using var smtp = await host.ConnectAsync();
        await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<user@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(head.ToString());
        await WaitForStagedChunksAsync(host);

        Assert.Empty((await host.QueueListAsync()).EnumerateArray()); // not accepted yet

        await smtp.SendAsync(tail + ".\r\n");
        var id = StoredContent.QueueIdFrom(await smtp.ExpectAsync("250"));
        var stored = await host.Store.GetAsync(id, CancellationToken.None);
        Assert.True(stored is not null, $"{id} was acknowledged with 250 but has no row in the store");
        var body = StoredContent.Split(await host.ContentAsync(id)).BodyText;
        Assert.Equal(head.ToString() + tail, body);
    }

    /// <summary>Waits (bounded) until the store file has grown by more than a chunk: the body is being staged.</summary>
    private static async Task WaitForStagedChunksAsync(PipelineHost host)
    {
        var db = Path.Combine(host.DataDir, "hermod.db");
        var wal = db + "-wal";
        long Size() => (File.Exists(db) ? new FileInfo(db).Length : 0) + (File.Exists(wal) ? new FileInfo(wal).Length : 0);
        var clock = Stopwatch.StartNew();
        while (Size() < 512 * 1024 && clock.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(50);
        await Task.Delay(200);
    }
}
