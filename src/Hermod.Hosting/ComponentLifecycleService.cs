using Hermod.Core.Extensions;
using Hermod.Delivery.Targets;
using Hermod.Policy.Pipeline;
using Microsoft.Extensions.Hosting;

namespace Hermod.Hosting;

/// <summary>Starts the components that have start/stop hooks before the listeners open, and stops them at shutdown.</summary>
internal sealed class ComponentLifecycleService(PipelineBuilder pipelines, DeliveryTargets targets) : IHostedService
{
    private readonly List<IComponentLifecycle> _started = [];

    private IEnumerable<IComponentLifecycle> Components =>
        pipelines.Components.Concat(targets.All).OfType<IComponentLifecycle>().Distinct();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var component in Components)
        {
            await component.StartAsync(cancellationToken);
            _started.Add(component);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var component in Enumerable.Reverse(_started))
            await component.StopAsync(cancellationToken);
        _started.Clear();
    }
}
