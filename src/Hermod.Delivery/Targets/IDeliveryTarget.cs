namespace Hermod.Delivery.Targets;

/// <summary>
/// Where a recipient's copy goes (maddy's two-phase delivery): a target is built from configuration by name;
/// each delivery is started, given its recipients one by one (a target may refuse one early), then the body, then
/// committed or aborted. Failures are replies, never exceptions: 2xx delivered, 4xx (or code 0 with a 4.x.x
/// status) temporary and retried, 5xx permanent.
/// </summary>
public interface IDeliveryTarget
{
    string Name { get; }

    Task<ITargetDelivery> StartAsync(TargetMessage message, CancellationToken cancellationToken);
}
