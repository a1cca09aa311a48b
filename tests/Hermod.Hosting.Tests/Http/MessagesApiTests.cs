using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.Tests.Http;

/// <summary>The native /v1 API over real HTTP on loopback: sending, reading, events, auth, tenants, idempotency, limits.</summary>
public sealed class MessagesApiTests : IAsyncLifetime
{
    private TestHost _host = null!;
    private HttpClient _http = null!;
    private string _acme = "";
    private string _globex = "";

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(o =>
        {
            o.Http.Api.MaxRecipients = 3;
            o.Http.Api.MaxAttachmentSize = 1000;
            o.Http.Api.MaxRequestSize = 64 * 1024;
        });
        var api = _host.Host.Services.GetRequiredService<IApiStore>();
        _acme = await api.CreateApiKeyAsync("acme", default);
        _globex = await api.CreateApiKeyAsync("globex", default);
        _http = new HttpClient { BaseAddress = _host.Http };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private async Task<HttpResponseMessage> SendAsync(string key, HttpContent content, string query = "", string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages" + query) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (idempotencyKey is not null)
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await _http.SendAsync(request);
    }

    private async Task<JsonElement> GetJsonAsync(string key, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await _http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static StringContent JsonBody(object spec) => new(JsonSerializer.Serialize(spec), Encoding.UTF8, "application/json");

    private static StringContent Raw(string message) => new(message, Encoding.UTF8, "message/rfc822");

    private static object Spec(params string[] to) => new
    {
        from = new { address = "app@acme.test", name = "Acme App" },
        to = to.Select(a => new { address = a }).ToArray(),
        subject = "Grüße from the API",
        text = "Hello in text, ünïcødé.",
        html = "<p>Hello in <b>HTML</b></p>",
        attachments = new[] { new { filename = "report.txt", content_type = "text/plain", content = Convert.ToBase64String("a,b\n1,2\n"u8.ToArray()) } },
        headers = new Dictionary<string, string> { ["X-Campaign"] = "autumn" },
        tags = new[] { "newsletter", "autumn" },
        metadata = new Dictionary<string, string> { ["order"] = "1234" },
    };

    [Fact]
    public async Task A_json_spec_becomes_a_mime_message_durable_before_the_202()
    {
        using var response = await SendAsync(_acme, JsonBody(Spec("alice@example.net", "bob@example.org")));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal([$"{id}.1", $"{id}.2"], body.GetProperty("recipients").EnumerateArray().Select(r => r.GetProperty("id").GetString()));

        var stored = (await _host.Store.GetAsync(id, default))!; // durable: readable the moment the 202 came
        Assert.Equal("app@acme.test", stored.Envelope.Sender);
        Assert.Equal("acme", stored.Envelope.Source.Tenant);
        Assert.Equal("http", stored.Envelope.Source.Listener);
        using var content = new MemoryStream();
        await _host.Store.CopyContentAsync(id, content, default);
        var text = Encoding.UTF8.GetString(content.ToArray());
        Assert.StartsWith("Received: from [127.0.0.1]\r\n\tby mx.example.test (Hermod) with HTTP id " + id + ";\r\n\t", text);
        Assert.Contains("X-Campaign: autumn", text);
        Assert.Contains("multipart/mixed", text);
        Assert.Contains("Subject: =?utf-8?", text, StringComparison.OrdinalIgnoreCase);

        var view = await GetJsonAsync(_acme, $"/v1/messages/{id}");
        Assert.Equal(["newsletter", "autumn"], view.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("1234", view.GetProperty("metadata").GetProperty("order").GetString());
    }

    [Fact]
    public async Task What_the_api_builds_python_reads_back_identically()
    {
        using var response = await SendAsync(_acme, JsonBody(Spec("reader@example.net")));
        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var file = Path.Combine(_host.DataDir, id + ".eml");
        await using (var output = File.Create(file))
            await _host.Store.CopyContentAsync(id, output, default);
        const string script = """
            import email, email.policy, json, sys
            m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
            att = [p for p in m.iter_attachments()]
            print(json.dumps({"subject": m["subject"], "from": str(m["from"]), "to": str(m["to"]),
                "text": m.get_body(("plain",)).get_content(), "html": m.get_body(("html",)).get_content(),
                "attachments": [[a.get_filename(), a.get_content_type(), a.get_content().decode() if isinstance(a.get_content(), bytes) else a.get_content()] for a in att],
                "campaign": m["X-Campaign"], "defects": [str(d) for d in m.defects]}))
            """;
        var python = await Peers.RunAsync(Peers.Python, ["-c", script, file], TimeSpan.FromSeconds(30));
        Assert.True(python.ExitCode == 0, python.Describe());
        var parsed = JsonDocument.Parse(python.Stdout).RootElement;
        Assert.Equal("Grüße from the API", parsed.GetProperty("subject").GetString());
        Assert.Equal("Acme App <app@acme.test>", parsed.GetProperty("from").GetString());
        Assert.Equal("reader@example.net", parsed.GetProperty("to").GetString());
        Assert.Equal("Hello in text, ünïcødé.", parsed.GetProperty("text").GetString()!.TrimEnd());
        Assert.Equal("<p>Hello in <b>HTML</b></p>", parsed.GetProperty("html").GetString()!.TrimEnd());
        var attachment = Assert.Single(parsed.GetProperty("attachments").EnumerateArray());
        Assert.Equal("report.txt", attachment[0].GetString());
        Assert.Equal("text/plain", attachment[1].GetString());
        Assert.Equal("a,b\n1,2\n", attachment[2].GetString()!.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal("autumn", parsed.GetProperty("campaign").GetString());
        Assert.Empty(parsed.GetProperty("defects").EnumerateArray());
    }

    [Fact]
    public async Task A_raw_message_takes_its_envelope_from_the_query()
    {
        using var response = await SendAsync(_acme, Raw("Subject: raw\nFrom: a@acme.test\n\nbare LF lines\n"), "?from=a@acme.test&to=x@example.net,y@example.net");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var stored = (await _host.Store.GetAsync(id, default))!;
        Assert.Equal(["x@example.net", "y@example.net"], stored.Deliveries.Select(d => d.Recipient));
        using var content = new MemoryStream();
        await _host.Store.CopyContentAsync(id, content, default);
        Assert.EndsWith("\r\nSubject: raw\r\nFrom: a@acme.test\r\n\r\nbare LF lines\r\n", Encoding.UTF8.GetString(content.ToArray()));
    }

    [Fact]
    public async Task A_message_shows_its_recipients_attempts_and_events_to_its_tenant_only()
    {
        using var sent = await SendAsync(_acme, Raw("Subject: s\r\n\r\nx\r\n"), "?from=a@acme.test&to=x@example.net");
        var id = JsonDocument.Parse(await sent.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var view = await GetJsonAsync(_acme, $"/v1/messages/{id}");
        Assert.Equal(id, view.GetProperty("id").GetString());
        var recipient = Assert.Single(view.GetProperty("recipients").EnumerateArray());
        Assert.Equal(("x@example.net", "queued", $"{id}.1"), (recipient.GetProperty("address").GetString(), recipient.GetProperty("state").GetString(), recipient.GetProperty("id").GetString()));
        Assert.Equal("accepted", view.GetProperty("events")[0].GetProperty("type").GetString());

        var problem = await GetJsonAsync(_globex, $"/v1/messages/{id}", HttpStatusCode.NotFound);
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        await GetJsonAsync(_acme, "/v1/messages/NOSUCHID", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_event_feed_pages_with_a_cursor_and_keeps_tenants_apart()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var sent = await SendAsync(_globex, Raw($"Subject: {i}\r\n\r\nx\r\n"), "?from=g@globex.test&to=x@example.net");
            ids.Add(JsonDocument.Parse(await sent.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
        }
        var first = await GetJsonAsync(_globex, "/v1/events?limit=2");
        Assert.Equal(2, first.GetProperty("events").GetArrayLength());
        var next = first.GetProperty("next").GetInt64();
        var rest = await GetJsonAsync(_globex, $"/v1/events?after={next}&limit=100");
        var seen = first.GetProperty("events").EnumerateArray().Concat(rest.GetProperty("events").EnumerateArray())
            .Select(e => e.GetProperty("message_id").GetString()).ToList();
        Assert.Equal(ids, seen.Distinct());
        var acme = await GetJsonAsync(_acme, "/v1/events?limit=1000");
        Assert.DoesNotContain(acme.GetProperty("events").EnumerateArray(), e => ids.Contains(e.GetProperty("message_id").GetString()!));
    }

    [Fact]
    public async Task An_idempotency_key_sends_once_and_refuses_another_body()
    {
        var key = Guid.NewGuid().ToString();
        using var first = await SendAsync(_acme, JsonBody(Spec("once@example.net")), idempotencyKey: key);
        using var again = await SendAsync(_acme, JsonBody(Spec("once@example.net")), idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        var sentTo = (await _host.Store.ListAsync(null, 10_000, default)).Count(m => m.Deliveries.Any(d => d.Recipient == "once@example.net"));
        Assert.Equal(1, sentTo);

        using var other = await SendAsync(_acme, JsonBody(Spec("other@example.net")), idempotencyKey: key);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Equal("application/problem+json", other.Content.Headers.ContentType!.MediaType);
        using var otherTenant = await SendAsync(_globex, JsonBody(Spec("once@example.net")), idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Accepted, otherTenant.StatusCode); // keys are per tenant
    }

    [Fact]
    public async Task Without_a_valid_key_there_is_a_401_problem()
    {
        using var none = await _http.PostAsync(new Uri("/v1/messages", UriKind.Relative), Raw("x"));
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType!.MediaType);
        using var bad = await SendAsync("hmd_000000000000_nope", Raw("x"), "?from=a@acme.test&to=x@example.net");
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        using var garbage = await SendAsync("garbage", Raw("x"));
        Assert.Equal(HttpStatusCode.Unauthorized, garbage.StatusCode);
    }

    public static TheoryData<string, string> BadSpecs => new()
    {
        { """{"to":[{"address":"x@example.net"}],"text":"t"}""", "from" },
        { """{"from":{"address":"a@acme.test"},"text":"t"}""", "to" },
        { """{"from":{"address":"not an address"},"to":[{"address":"x@example.net"}],"text":"t"}""", "from" },
        { """{"from":{"address":"a@acme.test"},"to":[{"address":"x@example.net"},{"address":"bad@@x"}],"text":"t"}""", "to[1]" },
        { """{"from":{"address":"a@acme.test"},"to":[{"address":"a@x.test"},{"address":"b@x.test"},{"address":"c@x.test"},{"address":"d@x.test"}],"text":"t"}""", "to" },
        { """{"from":{"address":"a@acme.test"},"to":[{"address":"x@example.net"}],"text":"t","attachments":[{"filename":"a","content_type":"text/plain","content":"!!"}]}""", "attachments[0].content" },
        { $$"""{"from":{"address":"a@acme.test"},"to":[{"address":"x@example.net"}],"text":"t","attachments":[{"filename":"a","content_type":"text/plain","content":"{{Convert.ToBase64String(new byte[2000])}}"}]}""", "attachments[0].content" },
        { """{"from":""", "from" }, // truncated JSON: the error points where it broke
        { $$"""{"from":{"address":"a@acme.test"},"to":[{"address":"x@example.net"}],"text":"t","tags":[{{string.Join(",", Enumerable.Repeat("\"t\"", 51))}}]}""", "tags" },
        { $$$"""{"from":{"address":"a@acme.test"},"to":[{"address":"x@example.net"}],"text":"t","metadata":{"k":"{{{new string('v', 1001)}}}"}}""", "metadata" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task Bad_specs_get_a_400_problem_naming_the_field(string json, string field)
    {
        using var response = await SendAsync(_acme, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Limits_and_media_types_have_their_own_problems()
    {
        using var tooLarge = await SendAsync(_acme, Raw("Subject: big\r\n\r\n" + new string('x', 70 * 1024)), "?from=a@acme.test&to=x@example.net");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        using var text = await SendAsync(_acme, new StringContent("hello", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        using var noRecipient = await SendAsync(_acme, Raw("Subject: x\r\n\r\nx\r\n"), "?from=a@acme.test");
        Assert.Equal(HttpStatusCode.BadRequest, noRecipient.StatusCode);
        Assert.Empty(await _host.Store.ListAsync(null, 10_000, default) is var all ? all.Where(m => m.Size > 60 * 1024) : []);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_endpoints()
    {
        var doc = JsonDocument.Parse(await _http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative))).RootElement;
        var paths = doc.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/v1/messages", out var messages));
        Assert.True(messages.TryGetProperty("post", out var post));
        Assert.True(post.GetProperty("responses").TryGetProperty("202", out _));
        Assert.True(paths.TryGetProperty("/v1/messages/{id}", out _));
        Assert.True(paths.TryGetProperty("/v1/events", out _));
    }

    [Fact]
    public async Task Curl_sends_a_raw_message_and_the_cli_makes_keys()
    {
        var config = Path.Combine(_host.DataDir, "cli.yaml");
        await File.WriteAllTextAsync(config, $"data_dir: {_host.DataDir}\n");
        var created = await CliRunner.RunAsync(["apikey", "create", "--tenant", "initech", "--config", config]);
        Assert.Equal(0, created.ExitCode);
        var key = created.Stdout.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("hmd_", key);

        var file = Path.Combine(_host.DataDir, "curl.eml");
        await File.WriteAllTextAsync(file, "Subject: via curl\r\n\r\nhello\r\n");
        var curl = await Peers.RunAsync(Peers.Find("curl", "/usr/bin/curl"), ["-sS", "-H", $"Authorization: Bearer {key}", "-H", "Content-Type: message/rfc822",
            "--data-binary", $"@{file}", $"{_host.Http}v1/messages?from=i@initech.test&to=x@example.net", "-w", "\n%{http_code}"], TimeSpan.FromSeconds(30));
        Assert.True(curl.ExitCode == 0, curl.Describe());
        var lines = curl.Stdout.TrimEnd().Split('\n');
        Assert.Equal("202", lines[^1]);
        var id = JsonDocument.Parse(lines[0]).RootElement.GetProperty("id").GetString()!;
        Assert.Equal("initech", (await _host.Store.GetAsync(id, default))!.Envelope.Source.Tenant);
    }
}
