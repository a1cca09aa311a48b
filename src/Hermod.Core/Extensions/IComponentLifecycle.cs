namespace Hermod.Core.Extensions;

/// <summary>A component (check, modifier, stream processor, target) that needs to start before Hermod takes traffic and to stop with it.</summary>
public interface IComponentLifecycle
{
    /// <summary>Runs after the configuration is built and before the listeners take connections; an exception stops startup.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Runs at shutdown, after the listeners stopped.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}
