using Hermod.Hosting.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.Http;

public sealed class HealthAndMetricsTests
{
    [Fact]
    public async Task Healthz_answers_ok_and_metrics_count_what_happened()
    {
        await using var host = await TestHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.Http };
        var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);

        await using (var smtp = await ConnectAndGreetAsync(host))
        {
            await smtp.StartTransactionAsync();
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAndExpectAsync("Subject: m\r\n\r\n12345\r\n.", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<x@elsewhere.test>", "503");
            await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<x@elsewhere.test>", "550");
        }

        var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE hermod_messages_accepted_total counter", text);
        Assert.Contains("hermod_messages_accepted_total{listener=\"mx\"} 1\n", text);
        Assert.Contains("hermod_messages_accepted_bytes_total{listener=\"mx\"} 21\n", text);
        Assert.Contains("hermod_smtp_connections_total{listener=\"mx\"} 1\n", text);
        Assert.Contains("hermod_smtp_rejections_total{listener=\"mx\",reason=\"relay_denied\"} 1\n", text);
        Assert.Contains("hermod_smtp_rejections_total{listener=\"mx\",reason=\"bad_sequence\"} 1\n", text);
        Assert.Contains("# TYPE hermod_storage_commit_duration_seconds histogram", text);
        Assert.Contains("hermod_storage_commit_batch_size_count ", text);
        Assert.Contains("hermod_smtp_sessions_active{listener=\"mx\"} ", text);
    }
}
