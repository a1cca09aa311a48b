using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Hosting.Tests.Interop;
using Hermod.Policy;
using Hermod.Policy.Checks;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>
/// A check of the hosting program's (no built-in check quarantines): messages with "X-Spam-Flag: YES" in their header
/// are held for an operator.
/// </summary>
public sealed class SpamFlagCheck : ICheck
{
    public SpamFlagCheck(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known();
    }

    public string Name => "spam_flag";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Body;

    public async Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        await using var body = await context.OpenBody!(cancellationToken);
        using var reader = new StreamReader(body);
        while (await reader.ReadLineAsync(cancellationToken) is { Length: > 0 } line)
            if (line.Equals("X-Spam-Flag: YES", StringComparison.OrdinalIgnoreCase))
                return CheckResult.Quarantine("flagged as spam upstream");
        return CheckResult.Accept;
    }
}

/// <summary>Quarantine end to end: held deliveries with their reason, the route they go on once released.</summary>
public sealed class QuarantineTests
{
    private const string Message = "From: sender@remote.test\r\nTo: user@example.test\r\nSubject: maybe spam\r\n\r\nHello.\r\n";
    private const string Flagged = "From: sender@remote.test\r\nTo: user@example.test\r\nX-Spam-Flag: YES\r\nSubject: spam\r\n\r\nBuy now.\r\n";

    [Fact]
    public async Task Deliver_to_quarantine_holds_the_delivery_with_a_reason_that_says_so()
    {
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "inbound",
            Delivery = true,
            Targets = $$"""
                mailboxes: { type: maildir, path: "{{host.Work}}/mail/{user}" }
                """,
            Pipelines = """
                inbound:
                  destination:
                    - match: [suspect@example.test]
                      deliver_to: [quarantine]
                  default: { deliver_to: [mailboxes] }
                """,
        });

        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["suspect@example.test", "user@example.test"], Message + ".\r\n");

        var settled = await host.WaitAsync(id, m => m.Deliveries.All(d => d.State is DeliveryState.Held or DeliveryState.Delivered));
        var held = settled.Deliveries.Single(d => d.Recipient == "suspect@example.test");
        Assert.Equal((DeliveryState.Held, "quarantine:example.test", 0), (held.State, held.Route, held.Attempts));
        Assert.Contains("quarantine", held.LastReply!.Reply.Text, StringComparison.OrdinalIgnoreCase);
        var delivered = settled.Deliveries.Single(d => d.Recipient == "user@example.test");
        Assert.Equal((DeliveryState.Delivered, "mailboxes:example.test"), (delivered.State, delivered.Route));
        Assert.Single(await PipelinePeers.ReadMaildirAsync(Path.Combine(host.Work, "mail", "user")));
        Assert.False(Directory.Exists(Path.Combine(host.Work, "mail", "suspect")));
    }

    private static async Task<PipelineHost> FlaggingHostAsync()
    {
        var host = new PipelineHost();
        try
        {
            await host.StartAsync(new PipelineSetup
            {
                MxPipeline = "inbound",
                Delivery = true,
                Services = s => s.AddCheck<SpamFlagCheck>("spam_flag"),
                Targets = $$"""
                    mailboxes: { type: maildir, path: "{{host.Work}}/mail/{user}" }
                    """,
                Pipelines = """
                    inbound:
                      checks: [spam_flag]
                      deliver_to: [mailboxes]
                    """,
            });
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task A_check_that_quarantines_holds_every_copy_before_its_target()
    {
        await using var host = await FlaggingHostAsync();
        string flagged, clean;
        await using (var smtp = await host.ConnectAsync())
        {
            flagged = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["user@example.test", "other@example.test"], Flagged + ".\r\n");
            clean = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["user@example.test"], Message + ".\r\n");
        }

        var held = await host.WaitAsync(flagged, m => m.Deliveries.All(d => d.State == DeliveryState.Held));
        Assert.All(held.Deliveries, d =>
        {
            Assert.Equal("quarantine:mailboxes:example.test", d.Route);
            Assert.Contains("quarantine", d.LastReply!.Reply.Text, StringComparison.OrdinalIgnoreCase);
        });
        var shown = await host.CliAsync("queue", "show", flagged); // the operator sees why
        Assert.Contains("quarantined: flagged as spam upstream\n", shown.Stdout, StringComparison.Ordinal);
        Assert.Equal(DeliveryState.Delivered, (await host.WaitFinalAsync(clean)).Deliveries[0].State);
        var box = Assert.Single(await PipelinePeers.ReadMaildirAsync(Path.Combine(host.Work, "mail", "user"))); // only the clean one
        Assert.Equal(await host.ContentAsync(clean), box.Content);
        Assert.False(Directory.Exists(Path.Combine(host.Work, "mail", "other")));
    }

    /// <summary>The held reply and the reference configuration tell the operator to run `hermod queue release ID`.</summary>
    [Fact]
    public async Task Releasing_a_quarantined_message_delivers_it_on_its_original_route()
    {
        await using var host = await FlaggingHostAsync();
        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["user@example.test"], Flagged + ".\r\n");
        var held = (await host.WaitAsync(id, m => m.Deliveries.All(d => d.State == DeliveryState.Held))).Deliveries[0];
        Assert.Contains($"hermod queue release {id}", held.LastReply!.Reply.Text);

        await host.CliAsync("queue", "release", id);

        var delivered = (await host.WaitFinalAsync(id)).Deliveries[0];
        Assert.Equal((DeliveryState.Delivered, "mailboxes:example.test"), (delivered.State, delivered.Route));
        var box = Assert.Single(await PipelinePeers.ReadMaildirAsync(Path.Combine(host.Work, "mail", "user")));
        Assert.Equal(await host.ContentAsync(id), box.Content);
        Assert.Equal(Flagged, StoredContent.Split(box.Content).BodyText);
    }
}
