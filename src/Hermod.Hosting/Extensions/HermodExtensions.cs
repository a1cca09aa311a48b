using Hermod.Core.Extensions;
using Hermod.Core.Pipeline;
using Hermod.Core.Pipeline.Processors;
using Hermod.Delivery.Targets;
using Hermod.Policy.Checks;
using Hermod.Policy.Modifiers;
using Hermod.Policy.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.Extensions;

/// <summary>
/// The components Hermod can build from configuration, by name: the built-in ones, and those a program hosting
/// Hermod adds with <see cref="AddCheck{T}"/>, <see cref="AddModifier{T}"/> and <see cref="AddTarget{T}"/>. A
/// component's public constructor takes its <see cref="Hermod.Core.Configuration.ConfigSection"/> section (a target
/// first its name) and any registered service (TimeProvider, IDnsResolver, ILogger&lt;T&gt;, HermodOptions, ...); it
/// validates the section with the section's getters and <c>Error</c>. A component that implements
/// <see cref="IComponentLifecycle"/> is started before the listeners open and stopped after they close.
/// </summary>
public sealed class HermodExtensions
{
    public HermodExtensions()
    {
        BuiltInChecks.Register(Checks);
        BuiltInModifiers.Register(Modifiers);
        BuiltInProcessors.Register(StreamProcessors);
        Targets.Add("relay", c => ActivatorUtilities.CreateInstance<SmtpTarget>(c.Services, c.Name, c.Config));
        Targets.Add("maildir", c => ActivatorUtilities.CreateInstance<MaildirTarget>(c.Services, c.Name, c.Config));
        Targets.Add("http", c => ActivatorUtilities.CreateInstance<HttpTarget>(c.Services, c.Name, c.Config));
    }

    public ComponentRegistry<ICheck> Checks { get; } = new();

    public ComponentRegistry<IModifier> Modifiers { get; } = new();

    public ComponentRegistry<IDeliveryTarget> Targets { get; } = new();

    public ComponentRegistry<IStreamProcessor> StreamProcessors { get; } = new();

    private readonly List<Action<IServiceCollection>> _services = [];

    /// <summary>Registers services the extension's components take in their constructors (after Hermod's own, so they may replace one).</summary>
    public HermodExtensions AddServices(Action<IServiceCollection> configure)
    {
        _services.Add(configure);
        return this;
    }

    internal void ConfigureServices(IServiceCollection services)
    {
        foreach (var configure in _services)
            configure(services);
    }

    /// <summary>Makes <typeparamref name="T"/> available as <c>processors: [ { name: { ...options } } ]</c>.</summary>
    public HermodExtensions AddStreamProcessor<T>(string name) where T : class, IStreamProcessor
    {
        StreamProcessors.Add(name, c => ActivatorUtilities.CreateInstance<T>(c.Services, c.Config));
        return this;
    }

    /// <summary>Makes <typeparamref name="T"/> available as <c>checks: [ { name: { ...options } } ]</c>.</summary>
    public HermodExtensions AddCheck<T>(string name) where T : class, ICheck
    {
        Checks.Add(name, c => ActivatorUtilities.CreateInstance<T>(c.Services, c.Config));
        return this;
    }

    /// <summary>Makes <typeparamref name="T"/> available as <c>modifiers: [ { name: { ...options } } ]</c>.</summary>
    public HermodExtensions AddModifier<T>(string name) where T : class, IModifier
    {
        Modifiers.Add(name, c => ActivatorUtilities.CreateInstance<T>(c.Services, c.Config));
        return this;
    }

    /// <summary>Makes <typeparamref name="T"/> available as a target type: <c>targets: { x: { type: name, ...options } }</c>.</summary>
    public HermodExtensions AddTarget<T>(string type) where T : class, IDeliveryTarget
    {
        Targets.Add(type, c => ActivatorUtilities.CreateInstance<T>(c.Services, c.Name, c.Config));
        return this;
    }
}
