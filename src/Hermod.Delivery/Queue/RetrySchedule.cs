using Hermod.Delivery.Configuration;

namespace Hermod.Delivery.Queue;

/// <summary>Exponential backoff with jitter, bounded by the maximum age of a message.</summary>
public static class RetrySchedule
{
    /// <summary>
    /// When to try again after <paramref name="attempts"/> attempts (this one included); null when the message is
    /// too old to try again. The last try falls at the moment the message reaches its maximum age.
    /// </summary>
    public static DateTimeOffset? Next(RetryOptions retry, int attempts, DateTimeOffset now, DateTimeOffset created, double jitter)
    {
        var expires = created + retry.MaxAge;
        if (now >= expires)
            return null;
        var backoff = retry.Min.TotalMilliseconds * Math.Pow(retry.Factor, Math.Max(0, attempts - 1));
        var delay = Math.Min(backoff, retry.Max.TotalMilliseconds) * (1 + (jitter * 2 - 1) * 0.1); // ±10%
        var next = now + TimeSpan.FromMilliseconds(Math.Max(delay, 0));
        return next < expires ? next : expires;
    }
}
