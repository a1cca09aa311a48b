using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Interop;

/// <summary>Python's smtplib (Debian /usr/bin/python3) against an in-process Hermod; each script prints JSON.</summary>
public sealed class SmtplibTests : IAsyncLifetime
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(60);
    private TestHost _host = null!;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "hermod-smtplib-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _host = await TestHost.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<JsonElement> RunAsync(string script, params string[] args)
    {
        var endPoint = args[0] == "submission" ? _host.Smtp("submission") : _host.Smtp("mx");
        var result = await Peers.RunAsync(Peers.Python, [Peers.Script($"Interop/scripts/{script}"), endPoint.Address.ToString(), endPoint.Port.ToString(), .. args[1..]], ScriptTimeout);
        Assert.True(result.ExitCode == 0, $"{script}: {result.Describe()}");
        try
        {
            return JsonDocument.Parse(result.StdoutBytes).RootElement.Clone();
        }
        catch (JsonException e)
        {
            Assert.Fail($"{script} did not print JSON ({e.Message}): {result.Describe()}");
            throw;
        }
    }

    private static string QueueId(JsonElement dataReply)
    {
        Assert.Equal(250, dataReply[0].GetInt32());
        return StoredContent.QueueIdFrom("250 " + dataReply[1].GetString());
    }

    private async Task<StoredMessage> StoredAsync(string id)
    {
        var message = await _host.Store.GetAsync(id, CancellationToken.None);
        Assert.NotNull(message);
        return message;
    }

    [Fact]
    public async Task SmtpUtf8_addresses_through_sendmail_and_send_message()
    {
        const string sender = "müller@absender.test";
        const string recipient = "jürgen@example.test";
        var json = await RunAsync("smtputf8_send.py", "mx", sender, recipient);

        Assert.True(json.GetProperty("smtputf8_advertised").GetBoolean());
        Assert.Empty(json.GetProperty("refused").EnumerateObject());
        Assert.Empty(json.GetProperty("refused_second").EnumerateObject());
        var replies = json.GetProperty("data_replies");
        Assert.Equal(2, replies.GetArrayLength());

        // 1: sendmail(mail_options=['SMTPUTF8', 'BODY=8BITMIME']): stored byte-exact, envelope in UTF-8
        var first = QueueId(replies[0]);
        var message = await StoredAsync(first);
        Assert.Equal(sender, message.Envelope.Sender);
        Assert.Equal(recipient, Assert.Single(message.Deliveries).Recipient);
        Assert.True(message.Envelope.SmtpUtf8);
        Assert.Equal(BodyType.EightBitMime, message.Envelope.Body);
        var content = await StoredContent.ReadAsync(_host.Store, first);
        Assert.Contains("with UTF8SMTP id", content.Received);
        Assert.Contains($"for <{recipient}>", content.Received);
        Assert.Equal(Convert.FromHexString(json.GetProperty("sent_hex").GetString()!), content.Body);

        // 2: send_message() of an EmailMessage with the same addresses: smtplib asks for SMTPUTF8 by itself
        var second = QueueId(replies[1]);
        Assert.NotEqual(first, second);
        message = await StoredAsync(second);
        Assert.Equal(sender, message.Envelope.Sender);
        Assert.Equal(recipient, Assert.Single(message.Deliveries).Recipient);
        Assert.True(message.Envelope.SmtpUtf8);
        content = await StoredContent.ReadAsync(_host.Store, second);
        Assert.Contains($"From: {sender}\r\n", content.BodyText);
        Assert.Contains("Subject: Zweite Nachricht\r\n", content.BodyText);
    }

    [Fact]
    public async Task StartTls_with_an_unverified_context_then_login_on_submission()
    {
        var json = await RunAsync("starttls_login.py", "submission", "alice", TestHost.Password, "wrong password",
            "alice@example.test", "bob@elsewhere.test");

        // before TLS: STARTTLS offered, AUTH neither offered nor accepted
        Assert.True(json.GetProperty("before_tls").GetProperty("starttls").GetBoolean());
        Assert.False(json.GetProperty("before_tls").GetProperty("auth").GetBoolean());
        Assert.Equal(538, json.GetProperty("auth_before_tls")[0].GetInt32());

        Assert.Equal(220, json.GetProperty("starttls")[0].GetInt32());
        Assert.StartsWith("TLSv1.", json.GetProperty("tls_version").GetString());
        Assert.False(json.GetProperty("after_tls").GetProperty("starttls").GetBoolean());
        Assert.Equal("PLAIN LOGIN", json.GetProperty("after_tls").GetProperty("auth").GetString()?.Trim()); // smtplib keeps a leading space

        var wrong = json.GetProperty("wrong_login");
        Assert.Equal(JsonValueKind.Array, wrong.ValueKind);
        Assert.Equal(535, wrong[0].GetInt32());
        Assert.StartsWith("5.7.8 ", wrong[1].GetString());
        Assert.Equal(235, json.GetProperty("login")[0].GetInt32());
        Assert.Empty(json.GetProperty("refused").EnumerateObject());

        var id = QueueId(Assert.Single(json.GetProperty("data_replies").EnumerateArray()));
        var message = await StoredAsync(id);
        Assert.Equal("alice@example.test", message.Envelope.Sender);
        Assert.Equal("bob@elsewhere.test", Assert.Single(message.Deliveries).Recipient);
        Assert.Equal("alice", message.Envelope.Source.AuthUser);
        Assert.Equal("submission", message.Envelope.Source.Listener);
        Assert.NotNull(message.Envelope.Source.TlsProtocol);
        var content = await StoredContent.ReadAsync(_host.Store, id);
        Assert.Contains("with ESMTPSA id", content.Received);
        Assert.Equal("From: alice@example.test\r\nTo: bob@elsewhere.test\r\nSubject: smtplib over STARTTLS\r\n\r\nsent after AUTH\r\n", content.BodyText);
    }

    public static TheoryData<string, bool> BdatCases => new()
    {
        { "two chunks, the second LAST", false },
        { "two chunks, then BDAT 0 LAST", true },
    };

    [Theory]
    [MemberData(nameof(BdatCases))]
    public async Task Bdat_by_hand_is_stored_byte_exact(string name, bool emptyLast)
    {
        Assert.NotEmpty(name);
        // BDAT is not dot-stuffed: a lone "." line and ".." lines are content. 8-bit text, and the first chunk
        // ends between the CR and the LF of a line end.
        var first = Encoding.UTF8.GetBytes(
            "From: bdat@remote.test\r\nTo: user@example.test\r\nSubject: chunks\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n\r\nline one\r\n.\r\n..two dots\r\nüñíçødé in chunk one\r");
        var second = Encoding.UTF8.GetBytes("\n.\r\nchunk two\r\n" + new string('x', 900) + "\r\nend\r\n");
        var firstPath = Path.Combine(_dir, "chunk1");
        var secondPath = Path.Combine(_dir, "chunk2");
        await File.WriteAllBytesAsync(firstPath, first);
        await File.WriteAllBytesAsync(secondPath, second);

        string[] args = emptyLast
            ? ["mx", "bdat@remote.test", "user@example.test", "--empty-last", firstPath, secondPath]
            : ["mx", "bdat@remote.test", "user@example.test", firstPath, secondPath];
        var json = await RunAsync("bdat.py", args);

        Assert.True(json.GetProperty("chunking").GetBoolean());
        Assert.Equal(250, json.GetProperty("mail")[0].GetInt32());
        Assert.Equal(250, json.GetProperty("rcpt")[0].GetInt32());
        var bdat = json.GetProperty("bdat").EnumerateArray().ToList();
        Assert.Equal(emptyLast ? 3 : 2, bdat.Count);
        foreach (var intermediate in bdat[..^1])
            Assert.Equal(250, intermediate[0].GetInt32());
        var id = QueueId(bdat[^1]);

        var message = await StoredAsync(id);
        Assert.Equal("bdat@remote.test", message.Envelope.Sender);
        Assert.Equal("user@example.test", Assert.Single(message.Deliveries).Recipient);
        Assert.Equal(BodyType.EightBitMime, message.Envelope.Body);
        var content = await StoredContent.ReadAsync(_host.Store, id);
        Assert.Equal([.. first, .. second], content.Body);
        Assert.Equal(content.Length, message.Size);
    }
}
