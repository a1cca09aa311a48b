using System.Net;
using Hermod.Core.Storage;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Interop;

/// <summary>swaks, a real SMTP client, against an in-process Hermod: its exit code, its transcript and the stored message.</summary>
public sealed class SwaksTests : IAsyncLifetime
{
    private static readonly TimeSpan SwaksTimeout = TimeSpan.FromSeconds(60);
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static Task<ProcessResult> SwaksAsync(IPEndPoint server, string from, string to, params string[] extra) =>
        Peers.RunAsync(Peers.Swaks,
            ["--server", $"{server.Address}:{server.Port}", "--helo", "swaks.client.test", "--from", from, "--to", to, "--timeout", "30", .. extra],
            SwaksTimeout);

    private async Task<StoredMessage> StoredAsync(string id)
    {
        var message = await _host.Store.GetAsync(id, CancellationToken.None);
        Assert.NotNull(message);
        return message;
    }

    private static string Marker() => "X-Swaks-Test: " + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Plain_message_is_stored_with_its_envelope()
    {
        var marker = Marker();
        var swaks = await SwaksAsync(_host.Smtp("mx"), "sender@remote.test", "user@example.test", "--header", marker);

        Assert.True(swaks.ExitCode == 0, swaks.Describe());
        Assert.Contains("<-  250-PIPELINING", swaks.Stdout);
        Assert.Contains("<-  250 2.1.5 Recipient OK", swaks.Stdout);
        var id = StoredContent.QueueIdFrom(swaks.Stdout);

        var message = await StoredAsync(id);
        Assert.Equal("sender@remote.test", message.Envelope.Sender);
        Assert.Equal("user@example.test", Assert.Single(message.Deliveries).Recipient);
        Assert.Equal(DeliveryState.Queued, Assert.Single(message.Deliveries).State);
        Assert.Equal("mx", message.Envelope.Source.Listener);
        Assert.Equal("swaks.client.test", message.Envelope.Source.Helo);
        Assert.Null(message.Envelope.Source.TlsProtocol);

        var content = await StoredContent.ReadAsync(_host.Store, id);
        Assert.Contains($" id {id}", content.Received);
        Assert.Contains("with ESMTP id", content.Received);
        Assert.Contains(marker + "\r\n", content.BodyText);
        Assert.Contains("\r\n\r\nThis is a test mailing\r\n", content.BodyText);
        Assert.Equal(content.Length, message.Size);
    }

    [Fact]
    public async Task Pipelined_commands_are_answered_in_order()
    {
        var marker = Marker();
        var swaks = await SwaksAsync(_host.Smtp("mx"), "pipe@remote.test", "user@example.test", "--pipeline", "--header", marker);

        Assert.True(swaks.ExitCode == 0, swaks.Describe());
        // swaks sends MAIL, RCPT and DATA in one batch and only then reads the three replies.
        Assert.Matches(@" -> MAIL FROM:<pipe@remote\.test>\n -> RCPT TO:<user@example\.test>\n -> DATA\n<-  250 2\.1\.0 [^\n]*\n<-  250 2\.1\.5 [^\n]*\n<-  354 ", swaks.Stdout);
        var id = StoredContent.QueueIdFrom(swaks.Stdout);

        var message = await StoredAsync(id);
        Assert.Equal("pipe@remote.test", message.Envelope.Sender);
        Assert.Equal("user@example.test", Assert.Single(message.Deliveries).Recipient);
        Assert.Contains(marker + "\r\n", (await StoredContent.ReadAsync(_host.Store, id)).BodyText);
    }

    [Fact]
    public async Task StartTls_with_the_self_signed_certificate()
    {
        var marker = Marker();
        var swaks = await SwaksAsync(_host.Smtp("mx"), "tls@remote.test", "user@example.test", "--tls", "--header", marker);

        Assert.True(swaks.ExitCode == 0, swaks.Describe());
        Assert.Contains(" -> STARTTLS\n<-  220 2.0.0 ", swaks.Stdout);
        Assert.Matches(@"=== TLS started with cipher TLSv1\.[23]", swaks.Stdout);
        Assert.Contains("TLS peer DN=\"/CN=mx.example.test\"", swaks.Stdout);
        // after TLS, EHLO again: STARTTLS is no longer offered
        var afterTls = swaks.Stdout[swaks.Stdout.IndexOf("=== TLS started", StringComparison.Ordinal)..];
        Assert.DoesNotContain("STARTTLS", afterTls);
        Assert.Contains("<~  250 2.0.0 Ok: queued as ", afterTls);
        var id = StoredContent.QueueIdFrom(afterTls);

        var message = await StoredAsync(id);
        Assert.Equal("tls@remote.test", message.Envelope.Sender);
        Assert.Equal("user@example.test", Assert.Single(message.Deliveries).Recipient);
        Assert.NotNull(message.Envelope.Source.TlsProtocol);
        Assert.Null(message.Envelope.Source.AuthUser);
        var content = await StoredContent.ReadAsync(_host.Store, id);
        Assert.Contains("with ESMTPS id", content.Received);
        Assert.Contains(marker + "\r\n", content.BodyText);
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task Auth_over_StartTls_on_submission_relays_for_alice(string mechanism)
    {
        var marker = Marker();
        var swaks = await SwaksAsync(_host.Smtp("submission"), "alice@example.test", "bob@elsewhere.test",
            "--tls", "--auth", mechanism, "--auth-user", "alice", "--auth-password", TestHost.Password, "--header", marker);

        Assert.True(swaks.ExitCode == 0, swaks.Describe());
        Assert.Contains("<~  250-AUTH PLAIN LOGIN", swaks.Stdout);
        Assert.Contains($" ~> AUTH {mechanism}", swaks.Stdout);
        Assert.Contains("<~  235 2.7.0 ", swaks.Stdout);
        var id = StoredContent.QueueIdFrom(swaks.Stdout);

        var message = await StoredAsync(id);
        Assert.Equal("alice@example.test", message.Envelope.Sender);
        Assert.Equal("bob@elsewhere.test", Assert.Single(message.Deliveries).Recipient);
        Assert.Equal("submission", message.Envelope.Source.Listener);
        Assert.Equal("alice", message.Envelope.Source.AuthUser);
        Assert.NotNull(message.Envelope.Source.TlsProtocol);
        var content = await StoredContent.ReadAsync(_host.Store, id);
        Assert.Contains("with ESMTPSA id", content.Received);
        Assert.Contains(marker + "\r\n", content.BodyText);
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task Wrong_password_is_535_and_nothing_is_stored(string mechanism)
    {
        var swaks = await SwaksAsync(_host.Smtp("submission"), "alice@example.test", "bob@elsewhere.test",
            "--tls", "--auth", mechanism, "--auth-user", "alice", "--auth-password", "not the password");

        Assert.NotEqual(0, swaks.ExitCode);
        Assert.True(swaks.ExitCode == 28, "swaks exit code 28 = error in AUTH transaction\n" + swaks.Describe());
        Assert.Contains("<~* 535 5.7.8 ", swaks.Stdout);
        Assert.DoesNotContain("MAIL FROM", swaks.Stdout);
        Assert.Empty(await _host.Store.ListAsync(null, 100, CancellationToken.None));
    }

    [Fact]
    public async Task Ingress_denies_relay_to_a_foreign_domain()
    {
        var swaks = await SwaksAsync(_host.Smtp("mx"), "sender@remote.test", "someone@foreign.test");

        Assert.True(swaks.ExitCode == 24, "swaks exit code 24 = no RCPTs accepted\n" + swaks.Describe());
        Assert.Contains("<** 550 5.7.1 ", swaks.Stdout);
        Assert.DoesNotContain("queued as", swaks.Stdout);
        Assert.Empty(await _host.Store.ListAsync(null, 100, CancellationToken.None));
    }

    [Fact]
    public async Task Submission_without_auth_is_refused()
    {
        var swaks = await SwaksAsync(_host.Smtp("submission"), "alice@example.test", "bob@elsewhere.test", "--tls");

        Assert.True(swaks.ExitCode == 23, "swaks exit code 23 = error in MAIL transaction\n" + swaks.Describe());
        Assert.Contains("<~* 530 5.7.0 ", swaks.Stdout);
        Assert.Empty(await _host.Store.ListAsync(null, 100, CancellationToken.None));
    }
}
