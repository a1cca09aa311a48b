using Hermod.Core.Configuration;

namespace Hermod.Core.Extensions;

/// <summary>
/// One component factory under the name configuration uses, registered as a service: the <see cref="ComponentRegistry{T}"/>
/// of its sort is made of all of them, built-in and added alike.
/// </summary>
public sealed record ComponentRegistration<T> where T : class
{
    public ComponentRegistration(string name, Func<ComponentContext, T> factory)
    {
        if (!ConfigNames.IsName(name))
            throw new ArgumentException($"'{name}' is not a valid component name (letters, digits, '_' and '-')", nameof(name));
        Name = name;
        Factory = factory;
    }

    public string Name { get; }

    public Func<ComponentContext, T> Factory { get; }
}
