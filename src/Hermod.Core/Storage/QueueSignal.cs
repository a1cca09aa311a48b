namespace Hermod.Core.Storage;

/// <summary>An auto-reset wake-up: many Set calls before a wait count as one. In-process only; no polling.</summary>
public sealed class QueueSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    /// <summary>Sets the signal; when it is set already, nothing happens (no exception thrown and caught: this runs per message).</summary>
    public void Set()
    {
        lock (_semaphore)
        {
            if (_semaphore.CurrentCount == 0)
                _semaphore.Release();
        }
    }

    /// <summary>True when set, false when <paramref name="timeout"/> passed first.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _semaphore.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _semaphore.Dispose();
}
