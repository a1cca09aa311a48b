using Hermod.Core.Extensions;
using Hermod.Core.Pipeline;
using Hermod.Policy.Checks;
using Hermod.Policy.Configuration;
using Hermod.Policy.Modifiers;
using Hermod.Policy.Pipeline;
using Hermod.Policy.Processors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Hermod.Policy;

/// <summary>
/// Registers the policy pipelines and the components configuration can name in them: the built-in checks, modifiers
/// and stream processors, and those a program adds with <see cref="AddCheck{T}"/>, <see cref="AddModifier{T}"/> and
/// <see cref="AddStreamProcessor{T}"/> (a later registration of a name replaces an earlier one). A component's public
/// constructor takes its <see cref="Hermod.Core.Configuration.ConfigSection"/> and any registered service
/// (TimeProvider, IDnsResolver, ILogger&lt;T&gt;, HermodOptions, ...); it validates the section with the section's getters
/// and <c>Error</c>.
/// </summary>
public static class PolicyServiceCollectionExtensions
{
    /// <summary>Checks running at once over all sessions; beyond it a stage is answered 451 4.3.2.</summary>
    private const int MaxPolicyWorkers = 1024;

    /// <summary>
    /// The pipelines of <paramref name="options"/> as a <see cref="PipelineSet"/>, built (and validated) once, when first
    /// asked for; the <see cref="PipelineBuilder"/> keeps the components it built (for start/stop hooks and disposal).
    /// TryAdd: what is registered before stays.
    /// </summary>
    /// <param name="maxHeaderBytes">The longest header block the pipelines read (the SMTP limit, smtp.limits.max_header_size).</param>
    public static IServiceCollection AddHermodPolicy(this IServiceCollection services, PolicyOptions options, int maxHeaderBytes)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(typeof(ComponentRegistry<>));
        Add(services, BuiltInChecks.All);
        Add(services, BuiltInModifiers.All);
        Add(services, BuiltInProcessors.All);
        services.TryAddSingleton(sp => new PipelineBuilder(sp.GetRequiredService<PolicyOptions>(), maxHeaderBytes, sp.GetRequiredService<ComponentRegistry<ICheck>>(),
            sp.GetRequiredService<ComponentRegistry<IModifier>>(), sp.GetRequiredService<ComponentRegistry<IStreamProcessor>>(), sp, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MessagePipeline>>()));
        services.TryAddSingleton(sp =>
        {
            var built = sp.GetRequiredService<PipelineBuilder>().Build(MaxPolicyWorkers);
            return new PipelineSet(built.ToDictionary(p => p.Key, p => (IMessagePipeline)p.Value), MessagePipeline.Default(maxHeaderBytes));
        });
        return services;
    }

    /// <summary>Makes <typeparamref name="T"/> available as <c>checks: [ { name: { ...options } } ]</c>.</summary>
    public static IServiceCollection AddCheck<T>(this IServiceCollection services, string name) where T : class, ICheck =>
        services.AddSingleton(new ComponentRegistration<ICheck>(name, c => ActivatorUtilities.CreateInstance<T>(c.Services, c.Config)));

    /// <summary>Makes <typeparamref name="T"/> available as <c>modifiers: [ { name: { ...options } } ]</c>.</summary>
    public static IServiceCollection AddModifier<T>(this IServiceCollection services, string name) where T : class, IModifier =>
        services.AddSingleton(new ComponentRegistration<IModifier>(name, c => ActivatorUtilities.CreateInstance<T>(c.Services, c.Config)));

    /// <summary>Makes <typeparamref name="T"/> available as <c>processors: [ { name: { ...options } } ]</c>.</summary>
    public static IServiceCollection AddStreamProcessor<T>(this IServiceCollection services, string name) where T : class, IStreamProcessor =>
        services.AddSingleton(new ComponentRegistration<IStreamProcessor>(name, c => ActivatorUtilities.CreateInstance<T>(c.Services, c.Config)));

    private static void Add<T>(IServiceCollection services, IEnumerable<ComponentRegistration<T>> registrations) where T : class
    {
        foreach (var registration in registrations)
            services.AddSingleton(registration);
    }
}
