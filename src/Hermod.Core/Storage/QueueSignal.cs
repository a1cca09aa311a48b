namespace Hermod.Core.Storage;

/// <summary>An auto-reset wake-up: many Set calls before a wait count as one. In-process only; no polling.</summary>
public sealed class QueueSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Set()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // already set
        }
    }

    /// <summary>True when set, false when <paramref name="timeout"/> passed first.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _semaphore.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _semaphore.Dispose();
}
