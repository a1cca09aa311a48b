using Hermod.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hermod.Hosting.Http;

/// <summary>The HTTP surface: health, metrics, the OpenAPI document and the APIs, and what an exception in any of them answers.</summary>
internal static class Endpoints
{
    public static void Map(WebApplication app)
    {
        app.UseExceptionHandler(); // a store out of reach: 503 (StorageUnavailableHandler); anything else: a 500 problem document
        app.MapGet("/healthz", async (IMessageStore store, CancellationToken ct) =>
        {
            await store.ListAsync(null, 1, ct); // the store answers a read
            return Results.Text("ok\n", "text/plain");
        });
        app.MapGet("/metrics", (PrometheusExporter exporter) =>
            Results.Text(exporter.Render(), "text/plain; version=0.0.4; charset=utf-8"));
        MiniMailgun.MiniMailgunApi.Map(app);
        app.MapOpenApi(); // /openapi/v1.json
        V1.MessagesApi.Map(app);
    }
}
