using System.Globalization;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.CutThrough;

/// <summary>Invariant 1 with cut-through, against the real binary: a 250 that made Hermod responsible survives kill -9.</summary>
public sealed class CutThroughCrashTests
{
    private const string Host = "127.0.0.71";

    [Fact]
    public async Task Kill9_right_after_the_250_of_a_cut_through_that_fell_back_to_the_queue_delivers_after_restart()
    {
        // The next hop refuses the first end of data with 451, then accepts: the submission's cut-through falls back
        // to store and forward, so its 250 comes from Hermod, after the commit. Hermod is killed at once.
        await using var mx = await FakeMx.StartAsync(new Dictionary<string, string> { [Host] = "data-tempfail-once" });
        await using var hermod = await HermodProcess.StartAsync(c =>
        {
            c.LocalDomains = ["example.test"];
            c.Listeners = [new("submission", "submission", "none", "required")];
            c.ListenerExtra = "      allow_plaintext_auth: true\n      cut_through: { rcpt_timeout: 5s, data_timeout: 5s }\n";
            c.Delivery = "delivery:\n  enabled: true\n  tls: none\n  retry: { min: 1s, max: 2s }\n";
            c.Extra = string.Create(CultureInfo.InvariantCulture, $"routes:\n  far.test: '{Host}:{mx.Port}'\n");
        });

        string id;
        await using (var smtp = await SmtpTranscript.ConnectAsync(hermod.Smtp("submission")))
        {
            await smtp.ExpectAsync("220 ");
            await smtp.SendAndExpectAsync("EHLO client.test", "250");
            var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0alice\0{TestHost.Password}"));
            await smtp.SendAndExpectAsync($"AUTH PLAIN {plain}", "235");
            await smtp.SendAndExpectAsync("MAIL FROM:<s@example.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<u@far.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            var reply = await smtp.SendAndExpectAsync("Subject: crash\r\n\r\nsurvive\r\n.", "250 2.0.0 Ok: queued as ");
            id = reply[(reply.LastIndexOf(' ') + 1)..].Trim();
            hermod.KillHard(); // right after the 250
        }
        Assert.Equal(1, mx.DataTransactions(Host)); // the refused cut-through attempt
        Assert.Empty(mx.Received(Host));

        await hermod.RestartAsync();
        var delivered = await mx.WaitForAsync(Host, 1, TimeSpan.FromSeconds(30));
        Assert.EndsWith("\r\n\r\nsurvive\r\n", Assert.Single(delivered).Text, StringComparison.Ordinal);
        var show = await hermod.RunCliAsync("queue", "show", id);
        Assert.True(show.ExitCode == 0, show.Describe());
        Assert.Contains("<u@far.test> delivered attempts=2", show.Stdout, StringComparison.Ordinal);
    }
}
