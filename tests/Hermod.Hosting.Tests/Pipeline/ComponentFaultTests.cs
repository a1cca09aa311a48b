using System.Buffers;
using Hermod.Core.Configuration;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery;
using Hermod.Delivery.Targets;
using Hermod.Delivery.Transport;
using Hermod.Policy;
using Hermod.Policy.Checks;
using Hermod.TestKit;
using Microsoft.Extensions.Logging;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>A check of the hosting program's that throws at RCPT for <c>crash@example.test</c>: a bug, not a verdict.</summary>
public sealed class CrashingCheck : ICheck
{
    public CrashingCheck(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known();
    }

    public string Name => "crashing_check";

    public bool RunsAt(CheckStage stage) => stage == CheckStage.Rcpt;

    public Task<CheckResult> CheckAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Recipient == "crash@example.test" ? throw new InvalidOperationException("a bug in the check") : Task.FromResult(CheckResult.Accept);
    }
}

/// <summary>A stream processor of the hosting program's that throws on a body with "crash" in it.</summary>
public sealed class CrashingProcessor : IStreamProcessor
{
    public CrashingProcessor(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known();
    }

    public string Name => "crashing_processor";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob) => new Filter();

    private sealed class Filter : IBodyFilter
    {
        public bool PassesThrough => true;

        public void Observe(ReadOnlySpan<byte> data)
        {
            if (data.IndexOf("crash"u8) >= 0)
                throw new InvalidOperationException("a bug in the processor");
        }

        public SmtpReply? Complete(IBufferWriter<byte> next) => null;
    }
}

/// <summary>A target of the hosting program's whose delivery throws at the body, with a path in its message.</summary>
public sealed class CrashingTarget : IDeliveryTarget
{
    public const string Secret = "/var/mail/internal/new/1.tmp";

    public CrashingTarget(string name, ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Name = name;
        config.Known("type");
    }

    public string Name { get; }

    public Task<ITargetDelivery> StartAsync(TargetMessage message, CancellationToken cancellationToken) => Task.FromResult<ITargetDelivery>(new Delivery());

    private sealed class Delivery : ITargetDelivery
    {
        public Task<UpstreamReply?> AddRecipientAsync(QueuedRecipient recipient, CancellationToken cancellationToken) => Task.FromResult<UpstreamReply?>(null);

        public Task<TransportResult> BodyAsync(CancellationToken cancellationToken) => throw new IOException($"Could not write {Secret}");

        public Task CommitAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task AbortAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>
/// Our own faults, end to end over SMTP: a component that throws gets the client a generic 451 4.3.0 that names
/// neither the component nor the exception, the log gets both, and the session goes on.
/// </summary>
public sealed class ComponentFaultTests
{
    private static async Task<PipelineHost> StartAsync(LogCapture log)
    {
        var host = new PipelineHost();
        try
        {
            await host.StartAsync(new PipelineSetup
            {
                MxPipeline = "inbound",
                Services = s => s.AddCheck<CrashingCheck>("crashing_check").AddStreamProcessor<CrashingProcessor>("crashing_processor"),
                Logging = logging => logging.AddProvider(log),
                Pipelines = """
                    inbound:
                      processors: [trace_header, hash, crashing_processor]
                      checks: [crashing_check]
                      deliver_to: [remote]
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

    private static void AssertLogged(LogCapture log, string component)
    {
        var entry = Assert.Single(log.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains(component, entry.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(entry.Exception);
    }

    [Fact]
    public async Task A_check_that_throws_is_answered_451_4_3_0_without_its_name_and_logged_with_it()
    {
        using var log = new LogCapture();
        await using var host = await StartAsync(log);
        await using var smtp = await host.ConnectAsync();
        await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250");
        var reply = await smtp.SendAndExpectAsync("RCPT TO:<crash@example.test>", "451 4.3.0 Local error in processing, try again later$");
        Assert.DoesNotContain("crashing_check", reply, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", reply, StringComparison.Ordinal);
        AssertLogged(log, "crashing_check");

        await smtp.SendAndExpectAsync("RCPT TO:<user@example.test>", "250"); // the session goes on
    }

    [Fact]
    public async Task A_stream_processor_that_throws_is_answered_451_4_3_0_without_its_name_and_logged_with_it()
    {
        using var log = new LogCapture();
        await using var host = await StartAsync(log);
        await using var smtp = await host.ConnectAsync();
        await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<user@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        var reply = await smtp.SendAndExpectAsync("Subject: crash\r\n\r\nbody\r\n.", "451 4.3.0 Local error in processing, try again later$");
        Assert.DoesNotContain("crashing_processor", reply, StringComparison.Ordinal);
        AssertLogged(log, "crashing_processor");
        Assert.Empty(await host.Store.ListAsync(null, 10, default)); // nothing was kept

        await PipelineHost.SendAsync(smtp, "sender@remote.test", ["user@example.test"], "Subject: fine\r\n\r\nbody\r\n.\r\n"); // the next message goes through
    }

    [Fact]
    public async Task A_target_that_throws_is_recorded_as_a_local_error_without_its_message_and_logged_with_it()
    {
        using var log = new LogCapture();
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "inbound",
            Delivery = true,
            Services = s => s.AddTarget<CrashingTarget>("crashing_target"),
            Logging = logging => logging.AddProvider(log),
            Targets = "archive: { type: crashing_target }",
            Pipelines = """
                inbound:
                  deliver_to: [archive]
                """,
        });
        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["user@example.test"], "Subject: archived\r\n\r\nbody\r\n.\r\n");

        var deferred = Assert.Single((await host.WaitAsync(id, m => m.Deliveries.All(d => d.Attempts == 1))).Deliveries);
        Assert.Equal(DeliveryState.Deferred, deferred.State);
        Assert.Equal("4.3.0", deferred.LastReply!.Reply.Enhanced.ToString());
        Assert.Equal("local error in delivery; see the log", deferred.LastReply.Reply.Text);
        var entry = Assert.Single(log.Entries, e => e.EventId.Id == 3003);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains($"{id}: target archive failed", entry.Message, StringComparison.Ordinal);
        Assert.Contains(CrashingTarget.Secret, Assert.IsType<IOException>(entry.Exception).Message, StringComparison.Ordinal);
    }
}
