using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hermod.Core.Configuration;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Hosting.Configuration;
using Hermod.Hosting.Http.MiniMailgun;
using Hermod.Hosting.TestKit;
using Hermod.Hosting.Tests.Interop;
using Hermod.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.Tests.Http;

/// <summary>A Hermod host (delivery off: what is queued stays queued) with two Mini-MailGun clients.</summary>
public sealed class MiniMailgunHost : IAsyncLifetime
{
    public const string Client = "client-one-5f0c2a7e";
    public const string OtherClient = "client-two-91d4b3c8";

    public TestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await TestHost.StartAsync(o => o.Http.MiniMailgun.Clients = [Client, OtherClient]);

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>The Mini-MailGun API over real HTTP on loopback (HttpClient and curl): every endpoint, every error path.</summary>
public sealed partial class MiniMailgunTests(MiniMailgunHost fixture) : IClassFixture<MiniMailgunHost>, IDisposable
{
    private const string Client = MiniMailgunHost.Client;
    private readonly TestHost _host = fixture.Host;
    private readonly HttpClient _http = new() { BaseAddress = fixture.Host.Http, Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose() => _http.Dispose();

    private static JsonObject SendRequest(string client = Client, string sender = "sender@client.test", string[]? recipients = null,
        string subject = "Hello", string body = "Hi there.\n") => new()
        {
            ["client_id"] = client,
            ["sender"] = sender,
            ["recipients"] = new JsonArray([.. (recipients ?? ["rcpt@one.test"]).Select(r => (JsonNode?)JsonValue.Create(r))]),
            ["subject"] = subject,
            ["body"] = body,
        };

    private async Task<(HttpStatusCode Status, string Body, string? ContentType)> PostAsync(string path, string content, string? contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(content)) };
        if (contentType is not null)
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    private Task<(HttpStatusCode Status, string Body, string? ContentType)> PostAsync(string path, JsonNode json) => PostAsync(path, json.ToJsonString());

    /// <summary>Sends and returns the submission id, asserting the exact 200 shape.</summary>
    private async Task<string> SendAsync(JsonObject request)
    {
        var (status, body, contentType) = await PostAsync("/send", request);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", contentType);
        var match = QueuedShape().Match(body);
        Assert.True(match.Success, body);
        return match.Groups[1].Value;
    }

    private async Task<string> StatusAsync(string submissionId, string client = Client)
    {
        var (status, body, _) = await PostAsync("/status", new JsonObject { ["client_id"] = client, ["submission_id"] = submissionId });
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    private static string Status(string state) => $$"""{"result":"success","status":"{{state}}"}""";

    private static string Unknown(string id) => $$"""{"result":"error","message":"unknown submission id {{id}}"}""";

    private async Task<IReadOnlyList<StoredMessage>> MessagesOfAsync(string submissionId) =>
        [.. (await _host.Store.ListAsync(null, 100_000, default)).Where(m => m.Envelope.SubmissionId == submissionId)];

    [GeneratedRegex("""^\{"result":"queued","submission_id":"([0-9a-f]{32})"\}$""")]
    private static partial Regex QueuedShape();

    [Fact]
    public async Task Send_queues_one_envelope_per_domain_sharing_one_message()
    {
        var id = await SendAsync(SendRequest(recipients: ["a@one.test", "B@Two.TEST", "c@ONE.test", "a@one.test"], body: "line one\nline two\r\nthree\rfour"));

        var messages = await MessagesOfAsync(id);
        Assert.Equal(2, messages.Count);
        var one = messages.Single(m => m.Deliveries[0].Route == "one.test");
        var two = messages.Single(m => m.Deliveries[0].Route == "two.test");
        Assert.Equal(["a@one.test", "c@ONE.test"], one.Deliveries.Select(d => d.Recipient)); // the duplicate gets one copy
        Assert.Equal(["B@Two.TEST"], two.Deliveries.Select(d => d.Recipient));
        Assert.All(messages, m =>
        {
            Assert.Equal("sender@client.test", m.Envelope.Sender);
            Assert.Equal("http", m.Envelope.Source.Listener);
            Assert.Equal(IPAddress.Loopback, m.Envelope.Source.ClientAddress);
            Assert.Equal("mx.example.test", m.Envelope.Source.Helo);
            Assert.Null(m.Envelope.Source.AuthUser);
            Assert.Equal(BodyType.SevenBit, m.Envelope.Body);
            Assert.False(m.Envelope.SmtpUtf8);
            Assert.All(m.Deliveries, d => Assert.Equal(DeliveryState.Queued, d.State));
        });

        var stored = await StoredContent.ReadAsync(_host.Store, one.Envelope.Id);
        Assert.Equal(stored.BodyText, (await StoredContent.ReadAsync(_host.Store, two.Envelope.Id)).BodyText);
        Assert.Matches($@"^Received: from \[127\.0\.0\.1\]\r\n\tby mx\.example\.test \(Hermod\) with HTTP id {id};\r\n\t\w{{3}}, \d{{2}} \w{{3}} \d{{4}} \d\d:\d\d:\d\d \+0000\r\n$",
            stored.Received);
        var date = Regex.Match(stored.BodyText, @"\r\nDate: ([^\r]+)\r\n").Groups[1].Value;
        Assert.True(DateTimeOffset.TryParse(date, System.Globalization.CultureInfo.InvariantCulture, out var sent), date);
        Assert.True((DateTimeOffset.UtcNow - sent).Duration() < TimeSpan.FromMinutes(1));
        Assert.Equal(
            "From: sender@client.test\r\n" +
            "To: a@one.test, B@Two.TEST, c@ONE.test\r\n" +
            "Subject: Hello\r\n" +
            $"Date: {date}\r\n" +
            $"Message-ID: <{id}@mx.example.test>\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: 7bit\r\n" +
            "\r\n" +
            "line one\r\nline two\r\nthree\r\nfour\r\n",
            stored.BodyText);
    }

    [Fact]
    public async Task Status_is_the_common_state_of_all_recipients_otherwise_queued()
    {
        var queue = _host.Host.Services.GetRequiredService<IDeliveryQueue>();
        async Task FinishAsync(DeliverySummary delivery, string messageId, AttemptStatus status)
        {
            var now = DateTimeOffset.UtcNow;
            var reply = status == AttemptStatus.Delivered ? new UpstreamReply("mx", new SmtpReply(250, new(2, 0, 0), "ok")) : new UpstreamReply("mx", new SmtpReply(550, new(5, 1, 1), "no"));
            await queue.RecordAsync(new AttemptRecord(messageId, now, now, [new RecipientOutcome(delivery.Id, status, reply)]), default);
        }

        // two domains, all delivered: queued until the last recipient, then sent
        var sent = await SendAsync(SendRequest(recipients: ["a@one.test", "b@two.test"]));
        Assert.Equal(Status("queued"), await StatusAsync(sent));
        var messages = await MessagesOfAsync(sent);
        await FinishAsync(messages[0].Deliveries[0], messages[0].Envelope.Id, AttemptStatus.Delivered);
        Assert.Equal(Status("queued"), await StatusAsync(sent));
        await FinishAsync(messages[1].Deliveries[0], messages[1].Envelope.Id, AttemptStatus.Delivered);
        Assert.Equal(Status("sent"), await StatusAsync(sent));

        // failed and cancelled recipients together: undeliverable
        var undeliverable = await SendAsync(SendRequest(recipients: ["a@one.test", "b@two.test"]));
        messages = await MessagesOfAsync(undeliverable);
        await FinishAsync(messages[0].Deliveries[0], messages[0].Envelope.Id, AttemptStatus.Failed);
        Assert.Equal(Status("queued"), await StatusAsync(undeliverable));
        Assert.Equal(1, await queue.CancelAsync(messages[1].Envelope.Id, default));
        Assert.Equal(Status("undeliverable"), await StatusAsync(undeliverable));

        // envelopes in different final states: queued (the issue's rule), also within one envelope
        var mixed = await SendAsync(SendRequest(recipients: ["a@one.test", "b@two.test"]));
        messages = await MessagesOfAsync(mixed);
        await FinishAsync(messages[0].Deliveries[0], messages[0].Envelope.Id, AttemptStatus.Delivered);
        await FinishAsync(messages[1].Deliveries[0], messages[1].Envelope.Id, AttemptStatus.Failed);
        Assert.Equal(Status("queued"), await StatusAsync(mixed));
        var mixedInOne = await SendAsync(SendRequest(recipients: ["a@one.test", "b@one.test"]));
        var single = Assert.Single(await MessagesOfAsync(mixedInOne));
        await FinishAsync(single.Deliveries[0], single.Envelope.Id, AttemptStatus.Delivered);
        await FinishAsync(single.Deliveries[1], single.Envelope.Id, AttemptStatus.Failed);
        Assert.Equal(Status("queued"), await StatusAsync(mixedInOne));
    }

    [Fact]
    public async Task Status_of_an_unknown_or_another_clients_id_is_an_error_in_a_200()
    {
        var id = await SendAsync(SendRequest());
        Assert.Equal(Status("queued"), await StatusAsync(id));
        Assert.Equal(Unknown(id), await StatusAsync(id, MiniMailgunHost.OtherClient));
        Assert.Equal(Unknown("0123456789abcdef0123456789abcdef"), await StatusAsync("0123456789abcdef0123456789abcdef"));
        Assert.Equal(Unknown(id.ToUpperInvariant()), await StatusAsync(id.ToUpperInvariant()));
        Assert.Equal(Unknown(""), await StatusAsync(""));
    }

    public static TheoryData<string, string> UnauthorizedRequests => new()
    {
        { "/send", """{"client_id":"nobody","sender":"a@b.test","recipients":["c@d.test"],"subject":"s","body":"b"}""" },
        { "/send", """{"client_id":"nobody"}""" }, // otherwise invalid too: 401 comes first
        { "/send", """{"client_id":"nobody","recipients":[]}""" },
        { "/send", """{"sender":"a@b.test","recipients":["c@d.test"],"subject":"s","body":"b"}""" },
        { "/send", """{"client_id":42,"sender":"a@b.test","recipients":["c@d.test"],"subject":"s","body":"b"}""" },
        { "/send", $$"""{"client_id":"{{Client}}x"}""" },
        { "/send", $$"""{"client_id":"{{Client.ToUpperInvariant()}}"}""" },
        { "/send", $$"""{"client_id":"{{Client}}","client_id":"nobody"}""" }, // which one? neither
        { "/send", "not json" },
        { "/send", $$"""[{"client_id":"{{Client}}"}]""" },
        { "/send", "" },
        { "/status", """{"client_id":"nobody","submission_id":"0123456789abcdef0123456789abcdef"}""" },
        { "/status", """{"client_id":"nobody"}""" },
        { "/status", "{}" },
    };

    [Theory]
    [MemberData(nameof(UnauthorizedRequests))]
    public async Task An_unknown_client_id_gets_401_before_any_other_check(string path, string body)
    {
        var (status, text, contentType) = await PostAsync(path, body);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("application/json", contentType);
        Assert.Equal("""{"result":"error","message":"unknown client_id"}""", text);
        (status, _, _) = await PostAsync(path, body, "text/plain"); // the wrong Content-Type too
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    public static TheoryData<string, string> BadSendRequests => new()
    {
        { """{"recipients":["c@d.test"],"subject":"s","body":"b"}""", "missing field sender" },
        { """{"sender":null,"recipients":["c@d.test"],"subject":"s","body":"b"}""", "missing field sender" },
        { """{"sender":"a@b.test","subject":"s","body":"b"}""", "missing field recipients" },
        { """{"sender":"a@b.test","recipients":["c@d.test"],"body":"b"}""", "missing field subject" },
        { """{"sender":"a@b.test","recipients":["c@d.test"],"subject":"s"}""", "missing field body" },
        { """{"sender":"a@b.test","recipients":[],"subject":"s","body":"b"}""", "recipients must not be empty" },
        { """{"sender":"a@b.test","recipients":"c@d.test","subject":"s","body":"b"}""", "recipients must be a list of addresses" },
        { """{"sender":"a@b.test","recipients":["c@d.test",7],"subject":"s","body":"b"}""", "recipients must be a list of addresses" },
        { """{"sender":7,"recipients":["c@d.test"],"subject":"s","body":"b"}""", "sender must be a string" },
        { """{"sender":"a@b.test","recipients":["c@d.test"],"subject":["s"],"body":"b"}""", "subject must be a string" },
        { """{"sender":"a@b.test","recipients":["c@d.test"],"subject":"s","body":{}}""", "body must be a string" },
        { """{"sender":"","recipients":["c@d.test"],"subject":"s","body":"b"}""", "invalid sender address" },
        { """{"sender":"Alice <a@b.test>","recipients":["c@d.test"],"subject":"s","body":"b"}""", "invalid sender address" },
        { """{"sender":"a@b.test","recipients":["c@d.test","no-at-sign"],"subject":"s","body":"b"}""", "invalid recipient address" },
        { """{"sender":"a@b.test","recipients":["c@d.test\r\nBcc: x@y.test"],"subject":"s","body":"b"}""", "invalid recipient address" },
        { """{"sender":"a@b.test","recipients":["c@d.test"],"subject":"s\r\nBcc: x@y.test","body":"b"}""", "subject must be a single line" },
    };

    [Theory]
    [MemberData(nameof(BadSendRequests))]
    public async Task A_send_with_a_missing_or_bad_field_gets_400_and_queues_nothing(string fields, string message)
    {
        var before = (await _host.Store.ListAsync(null, 100_000, default)).Count;
        var json = JsonNode.Parse(fields)!.AsObject();
        json.Insert(0, "client_id", Client);
        var (status, text, contentType) = await PostAsync("/send", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/json", contentType);
        Assert.Equal($$"""{"result":"error","message":"{{message}}"}""", text);
        Assert.Equal(before, (await _host.Store.ListAsync(null, 100_000, default)).Count);
    }

    [Fact]
    public async Task Status_without_a_submission_id_gets_400()
    {
        var (status, text, _) = await PostAsync("/status", new JsonObject { ["client_id"] = Client });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("""{"result":"error","message":"missing field submission_id"}""", text);
        (status, text, _) = await PostAsync("/status", new JsonObject { ["client_id"] = Client, ["submission_id"] = 5 });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("""{"result":"error","message":"submission_id must be a string"}""", text);
    }

    [Theory]
    [InlineData("/send", "text/plain")]
    [InlineData("/send", "application/x-www-form-urlencoded")]
    [InlineData("/send", "application/json; charset=iso-8859-1")]
    [InlineData("/send", null)]
    [InlineData("/status", "text/json")]
    [InlineData("/status", null)]
    public async Task A_known_client_with_another_content_type_gets_415(string path, string? contentType)
    {
        var json = path == "/send" ? SendRequest() : new JsonObject { ["client_id"] = Client, ["submission_id"] = "x" };
        var (status, text, _) = await PostAsync(path, json.ToJsonString(), contentType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("""{"result":"error","message":"Content-Type must be application/json"}""", text);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("Application/JSON; charset=UTF-8")]
    public async Task Application_json_is_accepted_with_or_without_a_utf8_charset(string contentType)
    {
        var (status, text, _) = await PostAsync("/send", SendRequest().ToJsonString(), contentType);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Matches(QueuedShape(), text);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // chunked: no Content-Length to refuse it by, the body is counted as it comes
    public async Task A_body_over_one_megabyte_gets_413(bool withLength)
    {
        var json = SendRequest(body: new string('x', MiniMailgunApi.MaxRequestSize)).ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/send");
        var bytes = Encoding.UTF8.GetBytes(json);
        request.Content = withLength ? new ByteArrayContent(bytes) : new StreamContent(new MemoryStream(bytes));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (!withLength)
            request.Headers.TransferEncodingChunked = true;
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal($$"""{"result":"error","message":"request body larger than {{MiniMailgunApi.MaxRequestSize}} bytes"}""",
            await response.Content.ReadAsStringAsync());

        // just under the limit is fine
        var fits = SendRequest(body: new string('x', MiniMailgunApi.MaxRequestSize - 500));
        Assert.True(Encoding.UTF8.GetByteCount(fits.ToJsonString()) <= MiniMailgunApi.MaxRequestSize);
        await SendAsync(fits);
    }

    [Fact]
    public async Task Other_methods_get_405()
    {
        foreach (var path in new[] { "/send", "/status" })
        {
            using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        }
    }

    [Fact]
    public async Task Too_many_recipients_get_400()
    {
        var many = Enumerable.Range(0, _host.Options.Smtp.Limits.MaxRecipients + 1).Select(i => $"r{i}@many.test").ToArray();
        var (status, text, _) = await PostAsync("/send", SendRequest(recipients: many));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal($$"""{"result":"error","message":"too many recipients (at most {{_host.Options.Smtp.Limits.MaxRecipients}})"}""", text);
    }

    /// <summary>Python's email package (a parser no one here wrote) reads back what /send built.</summary>
    private static async Task<JsonElement> ParseWithPythonAsync(byte[] message, string directory)
    {
        const string Script = """
            import email, email.policy, json, sys
            with open(sys.argv[1], "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            print(json.dumps({
                "subject": str(msg["subject"]),
                "from": [a.addr_spec for a in msg["from"].addresses],
                "to": [a.addr_spec for a in msg["to"].addresses],
                "cte": str(msg["content-transfer-encoding"]),
                "body": msg.get_content(),
                "defects": [repr(d) for d in msg.defects] + [repr(d) for h in msg.keys() for d in msg[h].defects],
            }))
            """;
        var file = Path.Combine(directory, $"mm-{Guid.NewGuid():N}.eml");
        await File.WriteAllBytesAsync(file, message);
        var result = await Peers.RunAsync(Peers.Python, ["-c", Script, file], TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.Describe());
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    [Fact]
    public async Task Non_ascii_subjects_are_encoded_words_and_long_lines_quoted_printable_as_a_mail_parser_reads_them()
    {
        var subject = "Grüße aus Köln — 東京 " + string.Concat(Enumerable.Repeat("ünïcødé ", 20)) + "🎉";
        var body = "Zeile eins: äöü\n" + new string('x', 1500) + " = end  \n\nlast line with trailing space ";
        var recipients = Enumerable.Range(0, 12).Select(i => $"recipient-number-{i}@domain{i % 3}.test").ToArray();
        var id = await SendAsync(SendRequest(recipients: recipients, subject: subject, body: body));
        var message = (await MessagesOfAsync(id))[0];
        var stored = (await StoredContent.ReadAsync(_host.Store, message.Envelope.Id)).Body;

        var lines = Encoding.UTF8.GetString(stored).Split("\r\n");
        Assert.All(lines, l => Assert.True(Encoding.UTF8.GetByteCount(l) <= 78, $"line of {l.Length}: {l}")); // folded headers, QP body
        Assert.True(Ascii.IsValid(stored)); // encoded words and quoted-printable: all 7 bit
        Assert.Equal(BodyType.SevenBit, message.Envelope.Body);

        var parsed = await ParseWithPythonAsync(stored, _host.DataDir);
        Assert.Equal(subject, parsed.GetProperty("subject").GetString());
        Assert.Equal("quoted-printable", parsed.GetProperty("cte").GetString());
        Assert.Equal(recipients, parsed.GetProperty("to").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["sender@client.test"], parsed.GetProperty("from").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(body + "\n", parsed.GetProperty("body").GetString()!.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal(0, parsed.GetProperty("defects").GetArrayLength());
    }

    [Fact]
    public async Task An_eight_bit_body_goes_as_8bit_and_utf8_addresses_need_smtputf8()
    {
        var id = await SendAsync(SendRequest(sender: "jörg@client.test", recipients: ["zoë@one.test"], subject: "plain", body: "Grüße\n"));
        var message = Assert.Single(await MessagesOfAsync(id));
        Assert.Equal(BodyType.EightBitMime, message.Envelope.Body);
        Assert.True(message.Envelope.SmtpUtf8);
        var stored = (await StoredContent.ReadAsync(_host.Store, message.Envelope.Id)).BodyText;
        Assert.Contains("From: jörg@client.test\r\nTo: zoë@one.test\r\nSubject: plain\r\n", stored);
        Assert.Contains("Content-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n", stored);

        var ascii = await SendAsync(SendRequest(body: "Grüße\n"));
        var asciiMessage = Assert.Single(await MessagesOfAsync(ascii));
        Assert.Equal(BodyType.EightBitMime, asciiMessage.Envelope.Body);
        Assert.False(asciiMessage.Envelope.SmtpUtf8);
    }

    [Fact]
    public async Task Curl_sends_and_asks_for_the_status()
    {
        var curl = Peers.Find("curl", "/usr/bin/curl");
        var file = Path.Combine(_host.DataDir, "curl-send.json");
        await File.WriteAllTextAsync(file, SendRequest(recipients: ["x@one.test", "y@two.test"], subject: "via curl").ToJsonString());
        var url = _host.Http.ToString().TrimEnd('/');

        var send = await Peers.RunAsync(curl, ["-sS", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + file,
            "-w", "\n%{http_code} %{content_type}", url + "/send"], TimeSpan.FromSeconds(30));
        Assert.True(send.ExitCode == 0, send.Describe());
        var sendLines = send.Stdout.Split('\n');
        Assert.Equal("200 application/json; charset=utf-8", sendLines[1]);
        var id = QueuedShape().Match(sendLines[0]).Groups[1].Value;
        Assert.Equal(2, (await MessagesOfAsync(id)).Count);

        var status = await Peers.RunAsync(curl, ["-sS", "-H", "Content-Type: application/json", "--data-binary",
            $$"""{"client_id":"{{Client}}","submission_id":"{{id}}"}""", "-w", "\n%{http_code}", url + "/status"], TimeSpan.FromSeconds(30));
        Assert.True(status.ExitCode == 0, status.Describe());
        Assert.Equal(Status("queued") + "\n200", status.Stdout);

        // curl -d sends application/x-www-form-urlencoded: a known client is told what to send instead
        var form = await Peers.RunAsync(curl, ["-sS", "-d", "@" + file, "-w", "\n%{http_code}", url + "/send"], TimeSpan.FromSeconds(30));
        Assert.Equal("""{"result":"error","message":"Content-Type must be application/json"}""" + "\n415", form.Stdout);
        var stranger = await Peers.RunAsync(curl, ["-sS", "-H", "Content-Type: application/json", "-d", """{"client_id":"nobody"}""",
            "-w", "\n%{http_code}", url + "/status"], TimeSpan.FromSeconds(30));
        Assert.Equal("""{"result":"error","message":"unknown client_id"}""" + "\n401", stranger.Stdout);
    }

    [Fact]
    public async Task Without_configured_clients_everyone_gets_401()
    {
        await using var host = await TestHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.Http };
        using var response = await http.PostAsync(new Uri("/send", UriKind.Relative),
            new StringContent(SendRequest().ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public void Clients_retention_and_the_attempt_limit_come_from_the_config_file()
    {
        var dir = Directory.CreateTempSubdirectory("hermod-mm-config-").FullName;
        try
        {
            var path = Path.Combine(dir, "hermod.yaml");
            File.WriteAllText(path, """
                mini_mailgun:
                  clients: [alpha, beta]
                retention: 36h
                delivery: { max_attempts: 4 }
                """);
            var o = ConfigLoader.Load(path, new Dictionary<string, string>());
            Assert.Equal(["alpha", "beta"], o.Http.MiniMailgun.Clients);
            Assert.Equal(TimeSpan.FromHours(36), o.Delivery.Retention);
            Assert.Equal(4, o.Delivery.MaxAttempts);
            Assert.Equal(0, new DeliveryOptions().MaxAttempts);

            File.WriteAllText(path, "delivery: { max_attempts: -1 }\nretention: 0s\n");
            var errors = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path, new Dictionary<string, string>())).Errors;
            Assert.Contains(errors, e => e.Contains("delivery.max_attempts", StringComparison.Ordinal));
            Assert.Contains(errors, e => e.Contains("retention", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
