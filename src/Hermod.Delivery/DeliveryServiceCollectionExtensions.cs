using Hermod.Core.Diagnostics;
using Hermod.Core.Extensions;
using Hermod.Core.Pipeline;
using Hermod.Delivery.Bounces;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.CutThrough;
using Hermod.Delivery.Queue;
using Hermod.Delivery.Retention;
using Hermod.Delivery.Routing;
using Hermod.Delivery.Targets;
using Hermod.Delivery.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hermod.Delivery;

/// <summary>
/// Registers delivery: the router, the SMTP transport, the targets (the built-in types and those a program adds with
/// <see cref="AddTarget{T}"/>), bounces and retention, and — unless delivery is off — the queue runner and cut-through.
/// Needs the store, an <see cref="Hermod.Dns.IDnsResolver"/>, <see cref="Hermod.Core.Configuration.HermodOptions"/> and
/// the SMTP server's <see cref="Hermod.Smtp.Configuration.SmtpOptions"/> (its local domains, and its listeners, which a
/// next hop must not be) registered too.
/// </summary>
public static class DeliveryServiceCollectionExtensions
{
    /// <summary>TryAdd: what is registered before stays.</summary>
    public static IServiceCollection AddHermodDelivery(this IServiceCollection services, DeliveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HermodMetrics>();
        services.TryAddSingleton(typeof(ComponentRegistry<>));
        foreach (var type in BuiltInTargetTypes.All)
            services.AddSingleton(type);
        services.TryAddSingleton<Router>();
        services.TryAddSingleton<IMessageTransport, SmtpTransport>();
        services.TryAddSingleton(sp => new DeliveryTargets(sp.GetRequiredService<DeliveryOptions>(), sp.GetRequiredService<ComponentRegistry<IDeliveryTarget>>(),
            new SmtpTarget(sp.GetRequiredService<Router>(), sp.GetRequiredService<IMessageTransport>()), sp));
        services.TryAddSingleton<BounceService>();
        services.TryAddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        if (options.Enabled)
        {
            services.AddHostedService<QueueRunner>();
            services.TryAddSingleton<ICutThrough, CutThroughService>();
        }
        return services;
    }

    /// <summary>Makes <typeparamref name="T"/> available as a target type: <c>targets: { x: { type: name, ...options } }</c> (its constructor takes the target's name first).</summary>
    public static IServiceCollection AddTarget<T>(this IServiceCollection services, string type) where T : class, IDeliveryTarget =>
        services.AddSingleton(new ComponentRegistration<IDeliveryTarget>(type, c => ActivatorUtilities.CreateInstance<T>(c.Services, c.Name, c.Config)));
}
