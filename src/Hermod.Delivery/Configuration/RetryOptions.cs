namespace Hermod.Delivery.Configuration;

/// <summary>When a deferred recipient is tried again (delivery.retry): backoff from min to max by factor, until max_age.</summary>
public sealed class RetryOptions
{
    public TimeSpan Min { get; set; } = TimeSpan.FromMinutes(1);
    public TimeSpan Max { get; set; } = TimeSpan.FromHours(1);
    public double Factor { get; set; } = 2;
    /// <summary>A message still undelivered after this long fails (and bounces).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(5);
}
