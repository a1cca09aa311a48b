using System.Net;
using System.Text;
using Hermod.Hosting.TestKit;
using Hermod.Smtp.Configuration;
using Hermod.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.Smtp;

/// <summary>STARTTLS, implicit TLS, AUTH PLAIN / LOGIN and the relay policy of the submission listener.</summary>
public sealed class SmtpTlsAuthTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(o =>
        o.Smtp.Listeners.Add(new ListenerOptions
        {
            Name = "smtps",
            Address = new IPEndPoint(IPAddress.Loopback, 0),
            Role = ListenerRole.Submission,
            Tls = TlsMode.Implicit,
            Auth = AuthMode.Required,
        }));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static string Plain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private async Task<SmtpTranscript> StartTlsAsync(string listener)
    {
        var smtp = await ConnectAndGreetAsync(_host, listener);
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("STARTTLS", @"220 2\.0\.0");
        await smtp.UpgradeAsync();
        return smtp;
    }

    [Fact]
    public async Task Starttls_resets_the_session_and_the_trace_header_says_esmtps()
    {
        await using var smtp = await StartTlsAsync("mx");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "503 5.5.1 Send HELO/EHLO first");
        var ehlo = await smtp.SendAndExpectAsync("EHLO client.test", "250-mx.example.test");
        Assert.DoesNotContain("STARTTLS", ehlo);
        await smtp.SendAndExpectAsync("STARTTLS", "503 5.5.1 TLS already active");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<u@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        var id = QueueId(await smtp.SendAndExpectAsync("x\r\n.", "250"));
        var stored = await StoredContentAsync(_host, id);
        Assert.Contains("with ESMTPS id", stored);
        Assert.Contains("(using Tls1", stored);
        Assert.NotNull((await _host.Store.GetAsync(id, default))!.Envelope.Source.TlsProtocol);
    }

    [Fact]
    public async Task Plaintext_sent_behind_starttls_is_discarded()
    {
        await using var smtp = await ConnectAndGreetAsync(_host, "mx");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAsync("STARTTLS\r\nRSET\r\nMAIL FROM:<injected@attacker.test>\r\n");
        await smtp.ExpectAsync(@"220 2\.0\.0");
        await smtp.UpgradeAsync();
        // Had the injected commands run, their replies would come first (and MAIL would be nested).
        await smtp.SendAndExpectAsync("EHLO client.test", "250-mx.example.test");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", @"250 2\.1\.0");
    }

    [Fact]
    public async Task Implicit_tls_listener_speaks_tls_from_the_first_byte()
    {
        await using var smtp = await SmtpTranscript.ConnectAsync(_host.Smtp("smtps"), implicitTls: true);
        await smtp.ExpectAsync("220 mx.example.test");
        var ehlo = await smtp.SendAndExpectAsync("EHLO client.test", "250");
        Assert.Contains("AUTH PLAIN LOGIN", ehlo);
        Assert.DoesNotContain("STARTTLS", ehlo);
        await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain("alice", TestHost.Password), @"235 2\.7\.0");
    }

    [Fact]
    public async Task Submission_requires_auth_and_auth_requires_tls()
    {
        await using var smtp = await ConnectAndGreetAsync(_host, "submission");
        var ehlo = await smtp.SendAndExpectAsync("EHLO client.test", "250");
        Assert.DoesNotContain("AUTH", ehlo);
        await smtp.SendAndExpectAsync("MAIL FROM:<alice@example.test>", @"530 5\.7\.0 Authentication required");
        await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain("alice", TestHost.Password), @"538 5\.7\.11");
    }

    [Fact]
    public async Task Auth_plain_lets_the_user_relay_anywhere_and_is_stored_with_the_message()
    {
        await using var smtp = await StartTlsAsync("submission");
        var ehlo = await smtp.SendAndExpectAsync("EHLO client.test", "250");
        Assert.Contains("AUTH PLAIN LOGIN", ehlo);
        await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain("alice", TestHost.Password), @"235 2\.7\.0");
        await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain("alice", TestHost.Password), @"503 5\.5\.1 Already");
        await smtp.SendAndExpectAsync("MAIL FROM:<alice@example.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<bob@far-away.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        var id = QueueId(await smtp.SendAndExpectAsync("x\r\n.", "250"));
        var message = (await _host.Store.GetAsync(id, default))!;
        Assert.Equal("alice", message.Envelope.Source.AuthUser);
        Assert.Equal("submission", message.Envelope.Source.Listener);
        Assert.Contains("with ESMTPSA id", await StoredContentAsync(_host, id));
    }

    [Fact]
    public async Task Auth_plain_without_initial_response_and_auth_login_step_by_step()
    {
        await using (var smtp = await StartTlsAsync("submission"))
        {
            await smtp.SendAndExpectAsync("EHLO client.test", "250");
            await smtp.SendAndExpectAsync("AUTH PLAIN", "334 ?$");
            await smtp.SendAndExpectAsync(Plain("alice", TestHost.Password), "235");
        }
        await using (var smtp = await StartTlsAsync("submission"))
        {
            await smtp.SendAndExpectAsync("EHLO client.test", "250");
            await smtp.SendAndExpectAsync("AUTH LOGIN", "334 VXNlcm5hbWU6");
            await smtp.SendAndExpectAsync(B64("alice"), "334 UGFzc3dvcmQ6");
            await smtp.SendAndExpectAsync(B64(TestHost.Password), "235");
        }
        await using (var smtp = await StartTlsAsync("submission"))
        {
            await smtp.SendAndExpectAsync("EHLO client.test", "250");
            await smtp.SendAndExpectAsync("AUTH LOGIN " + B64("alice"), "334 UGFzc3dvcmQ6");
            await smtp.SendAndExpectAsync("*", @"501 5\.0\.0");
            await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "530");
        }
    }

    [Theory]
    [InlineData("alice", "wrong")]
    [InlineData("mallory", TestHost.Password)]
    [InlineData("", "")]
    public async Task Bad_credentials_get_535(string user, string password)
    {
        await using var smtp = await StartTlsAsync("submission");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain(user, password), @"535 5\.7\.8");
        await smtp.SendAndExpectAsync("AUTH PLAIN !!notbase64", @"501 5\.5\.2");
        await smtp.SendAndExpectAsync("AUTH CRAM-MD5", @"504 5\.5\.4");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "530");
    }

    [Fact]
    public async Task Auth_is_refused_on_a_listener_without_auth()
    {
        await using var smtp = await StartTlsAsync("mx");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain("alice", TestHost.Password), @"502 5\.5\.1");
    }
}
