using Hermod.Core.Diagnostics;
using Hermod.Hosting.Http.MiniMailgun;
using Hermod.Hosting.Http.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hermod.Hosting.Http;

/// <summary>Registers the HTTP side: the APIs' services, the metrics exporter, the webhook dispatcher; <see cref="Endpoints"/> maps the routes.</summary>
internal static class HttpServiceCollectionExtensions
{
    public static IServiceCollection AddHermodHttp(this IServiceCollection services, HttpOptions options)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HermodMetrics>();
        services.TryAddSingleton<PrometheusExporter>();
        services.TryAddSingleton<MiniMailgunApi>();
        services.AddOpenApi();
        services.AddHttpClient();
        services.AddProblemDetails();
        services.AddExceptionHandler<StorageUnavailableHandler>();
        services.AddHostedService<WebhookDispatcher>();
        return services;
    }
}
