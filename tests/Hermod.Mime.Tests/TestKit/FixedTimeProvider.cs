namespace Hermod.Mime.Tests.TestKit;

/// <summary>A clock stopped at one instant, in a chosen local time zone.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now, TimeZoneInfo? zone = null) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now.ToUniversalTime();

    public override TimeZoneInfo LocalTimeZone => zone ?? TimeZoneInfo.Utc;
}
