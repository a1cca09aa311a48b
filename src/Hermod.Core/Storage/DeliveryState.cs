namespace Hermod.Core.Storage;

/// <summary>Held: waiting for a delivery target (released by a restart with new configuration, or `queue retry`).</summary>
public enum DeliveryState { Queued, Inflight, Delivered, Deferred, Failed, Cancelled, Held }
