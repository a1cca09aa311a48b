using Hermod.Core.Storage;

namespace Hermod.Http;

/// <summary>The HTTP surface of this stage: health and metrics.</summary>
internal static class Endpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", async (IMessageStore store, CancellationToken ct) =>
        {
            await store.ListAsync(null, 1, ct); // the store answers a read
            return Results.Text("ok\n", "text/plain");
        });
        app.MapGet("/metrics", (PrometheusExporter exporter) =>
            Results.Text(exporter.Render(), "text/plain; version=0.0.4; charset=utf-8"));
    }
}
