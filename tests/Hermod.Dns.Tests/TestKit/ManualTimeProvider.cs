namespace Hermod.Dns.Tests.TestKit;

/// <summary>A clock that moves only when told to. Timers (the resolver's timeouts) stay real.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private DateTimeOffset _now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
