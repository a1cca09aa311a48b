using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>POST /v1/messages through http.pipeline: a permanent refusal is a 422 naming the field, a temporary one a 503 with Retry-After.</summary>
public sealed class HttpSubmissionTests
{
    private static async Task<(PipelineHost Host, HttpClient Http, string Key)> StartAsync()
    {
        var host = new PipelineHost();
        try
        {
            await host.StartAsync(new PipelineSetup
            {
                HttpPipeline = "api",
                Pipelines = """
                    api:
                      checks:
                        - rate_limit: { by: sender, rate: 1, per: 1h, burst: 1 }
                      destination:
                        - match: [blocked@example.net]
                          reject: { code: 550, enhanced: 5.7.1, text: "This recipient takes no mail from the API" }
                      default: { deliver_to: [remote] }
                    """,
            });
            var key = await host.Host.Services.GetRequiredService<IApiStore>().CreateApiKeyAsync("acme", CancellationToken.None);
            return (host, new HttpClient { BaseAddress = host.Http, Timeout = TimeSpan.FromSeconds(30) }, key);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpClient http, string key, string from, params string[] to)
    {
        var spec = new { from = new { address = from }, to = to.Select(a => new { address = a }).ToArray(), subject = "through the pipeline", text = "Hello." };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent(JsonSerializer.Serialize(spec), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var response = await http.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (response.StatusCode, body, response);
    }

    [Fact]
    public async Task A_destination_reject_is_a_422_problem_naming_the_recipient_field_and_nothing_is_stored()
    {
        var (host, http, key) = await StartAsync();
        await using (host)
        using (http)
        {
            var (status, body, response) = await SendAsync(http, key, "app@acme.test", "ok@example.net", "blocked@example.net");
            using (response)
            {
                Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
                Assert.StartsWith("application/problem+json", response.Content.Headers.ContentType?.ToString());
            }
            Assert.Equal(422, body.GetProperty("status").GetInt32());
            Assert.Equal("550 5.7.1 This recipient takes no mail from the API", body.GetProperty("detail").GetString());
            var errors = body.GetProperty("errors");
            Assert.Equal(["recipients[1]"], errors.EnumerateObject().Select(p => p.Name));
            Assert.Equal("550 5.7.1 This recipient takes no mail from the API", errors.GetProperty("recipients[1]")[0].GetString());
            Assert.Empty(await host.Store.ListAsync(null, 10, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_tempfail_check_is_a_503_with_Retry_After()
    {
        var (host, http, key) = await StartAsync();
        await using (host)
        using (http)
        {
            var (first, accepted, firstResponse) = await SendAsync(http, key, "burst@acme.test", "ok@example.net");
            firstResponse.Dispose();
            Assert.Equal(HttpStatusCode.Accepted, first);
            var id = accepted.GetProperty("id").GetString()!;

            var (second, problem, response) = await SendAsync(http, key, "burst@acme.test", "ok@example.net"); // the bucket held one
            using (response)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, second);
                Assert.NotNull(response.Headers.RetryAfter?.Delta);
                Assert.True(response.Headers.RetryAfter.Delta > TimeSpan.Zero);
            }
            Assert.Equal(503, problem.GetProperty("status").GetInt32());
            Assert.StartsWith("451 4.7.0 ", problem.GetProperty("detail").GetString());

            // another sender is not limited, and only the accepted messages are stored
            var (other, _, otherResponse) = await SendAsync(http, key, "other@acme.test", "ok@example.net");
            otherResponse.Dispose();
            Assert.Equal(HttpStatusCode.Accepted, other);
            var stored = await host.Store.ListAsync(null, 10, CancellationToken.None);
            Assert.Equal(2, stored.Count);
            Assert.Contains(stored, m => m.Envelope.Id == id && m.Envelope.Sender == "burst@acme.test");
        }
    }
}
