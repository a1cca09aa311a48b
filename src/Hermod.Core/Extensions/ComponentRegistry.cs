using Hermod.Core.Configuration;

namespace Hermod.Core.Extensions;

/// <summary>
/// Components of one sort (checks, modifiers, stream processors or targets) by registered name, made of the
/// <see cref="ComponentRegistration{T}"/> services: built-in ones and those an extension adds are registered the same
/// way, and a later registration of a name replaces an earlier one. Configuration names them, and each is built from
/// its own section, which it validates.
/// </summary>
public sealed class ComponentRegistry<T> where T : class
{
    private readonly Dictionary<string, Func<ComponentContext, T>> _factories = new(StringComparer.Ordinal);

    public ComponentRegistry(IEnumerable<ComponentRegistration<T>> registrations)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        foreach (var registration in registrations)
            _factories[registration.Name] = registration.Factory;
    }

    public IEnumerable<string> Names => _factories.Keys.Order(StringComparer.Ordinal);

    public bool Contains(string name) => _factories.ContainsKey(name);

    /// <summary>
    /// Builds the component <paramref name="kind"/>; null (with the reason recorded in the section's errors) when the
    /// name is unknown, the section is invalid, or the factory threw.
    /// </summary>
    public T? Build(string kind, string name, ConfigSection config, IServiceProvider services, string sort)
    {
        if (!_factories.TryGetValue(kind, out var factory))
        {
            config.Error(null, $"no {sort} named '{kind}' (known: {string.Join(", ", Names)})");
            return null;
        }
        T component;
        try
        {
            component = factory(new ComponentContext(name, config, services));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or FormatException or UnauthorizedAccessException)
        {
            config.Error(null, e.Message);
            return null;
        }
        if (config.Errors.Count == 0)
            return component;
        (component as IDisposable)?.Dispose();
        return null;
    }
}
