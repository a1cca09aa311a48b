using System.Diagnostics;
using Hermod.Hosting.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.Smtp;

public sealed class SmtpShutdownTests
{
    [Fact]
    public async Task Stopping_the_host_ends_open_sessions_with_421_and_keeps_acknowledged_mail()
    {
        var host = await TestHost.StartAsync();
        string id;
        await using (var smtp = await ConnectAndGreetAsync(host))
        {
            await smtp.StartTransactionAsync();
            await smtp.SendAndExpectAsync("DATA", "354");
            id = QueueId(await smtp.SendAndExpectAsync("Subject: before stop\r\n\r\nx\r\n.", "250"));
            await smtp.StartTransactionAsync();

            var clock = Stopwatch.StartNew();
            var stopping = host.Host.StopAsync();
            await smtp.ExpectAsync(@"421 4\.3\.2");
            Assert.True(await smtp.IsClosedAsync());
            await stopping;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"shutdown took {clock.Elapsed}");
        }
        await host.Host.DisposeAsync();

        // A new host on the same data directory finds the acknowledged message.
        await using var again = await TestHost.StartAsync(o => o.Hermod.DataDir = host.DataDir);
        Assert.NotNull(await again.Store.GetAsync(id, default));
    }
}
