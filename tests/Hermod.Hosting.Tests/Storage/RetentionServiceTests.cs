using System.Buffers;
using System.Net;
using System.Text;
using Hermod.Core.Storage;
using Hermod.Delivery.Retention;
using Hermod.Hosting.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.Tests.Storage;

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
