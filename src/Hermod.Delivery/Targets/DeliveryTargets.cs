using Hermod.Core.Configuration;
using Hermod.Core.Extensions;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Transport;

namespace Hermod.Delivery.Targets;

/// <summary>The configured targets by name (the built-in "remote" included), built once at start.</summary>
public sealed class DeliveryTargets : IAsyncDisposable
{
    /// <summary>
    /// The reply recorded when delivery failed through our own fault (a target that threw): a temporary failure
    /// whose words say nothing of the inside — the log has the target and the exception.
    /// </summary>
    public static readonly UpstreamReply LocalError = UpstreamReply.NoReply(null, new(4, 3, 0), "local error in delivery; see the log");

    private readonly Dictionary<string, IDeliveryTarget> _targets = new(StringComparer.Ordinal);

    /// <summary>Builds every target of <paramref name="options"/>; throws <see cref="ConfigException"/> listing every problem.</summary>
    public DeliveryTargets(DeliveryOptions options, ComponentRegistry<IDeliveryTarget> registry, SmtpTarget remote, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        _targets[RouteKey.Remote] = remote;
        var errors = new List<string>();
        foreach (var (name, spec) in options.Targets)
        {
            if (registry.Build(spec.Type, name, spec.Section, services, "target type") is { } target)
                _targets[name] = target;
            errors.AddRange(spec.Section.Errors);
        }
        if (errors.Count > 0)
            throw new ConfigException(errors);
    }

    public IEnumerable<IDeliveryTarget> All => _targets.Values;

    public IDeliveryTarget? Find(string name) => _targets.GetValueOrDefault(name);

    /// <summary>
    /// Runs one job through its target's two phases: each recipient is added (a refusal is that recipient's reply),
    /// then the body, then commit — or abort when nothing was accepted or the body failed. A commit that fails makes
    /// every accepted recipient a temporary failure: it is retried, never lost.
    /// </summary>
    public static async Task<TransportResult> DeliverAsync(IDeliveryTarget target, TargetMessage message, IReadOnlyList<QueuedRecipient> recipients,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(recipients);
        await using var delivery = await target.StartAsync(message, cancellationToken);
        var replies = new Dictionary<long, UpstreamReply>();
        var accepted = 0;
        foreach (var recipient in recipients)
            if (await delivery.AddRecipientAsync(recipient, cancellationToken) is { } refused)
                replies[recipient.DeliveryId] = refused;
            else
                accepted++;
        if (accepted == 0)
        {
            await delivery.AbortAsync(cancellationToken);
            return new TransportResult(replies, false);
        }
        TransportResult result;
        try
        {
            result = await delivery.BodyAsync(cancellationToken);
            await delivery.CommitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await delivery.AbortAsync(CancellationToken.None);
            foreach (var recipient in recipients)
                replies.TryAdd(recipient.DeliveryId, LocalError);
            return new TransportResult(replies, false) { Fault = e };
        }
        foreach (var (id, reply) in result.Replies)
            replies[id] = reply;
        return result with { Replies = replies };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var target in _targets.Values)
            switch (target)
            {
                case IAsyncDisposable a:
                    await a.DisposeAsync();
                    break;
                case IDisposable d:
                    d.Dispose();
                    break;
            }
    }
}
