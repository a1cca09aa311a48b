using Hermod.Hosting.Configuration;

namespace Hermod.Delivery.Tests;

public abstract class DeliveryWorldFixture(Action<HermodConfiguration> configure) : IAsyncLifetime
{
    public DeliveryWorld World { get; } = new() { Configure = configure };

    public Task InitializeAsync() => World.InitializeAsync();

    public Task DisposeAsync() => World.DisposeAsync();
}
