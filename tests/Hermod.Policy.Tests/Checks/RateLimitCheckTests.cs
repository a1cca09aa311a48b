using Hermod.Policy.Checks;
using Microsoft.Extensions.Time.Testing;
using static Hermod.Policy.Tests.Checks.Contexts;

namespace Hermod.Policy.Tests.Checks;

public sealed class RateLimitCheckTests
{
    private static async Task<CheckAction> TakeAsync(RateLimitCheck check, CheckContext context, CheckStage stage = CheckStage.Mail) =>
        (await check.CheckAsync(stage, context, default)).Action;

    [Fact]
    public async Task BurstIsAllowedThenRefusedThenRefilled()
    {
        var time = new FakeTimeProvider();
        var check = new RateLimitCheck(new RateLimitOptions { Rate = 1, Per = TimeSpan.FromSeconds(10), Burst = 3 }, time);
        for (var i = 0; i < 3; i++)
            Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(ip: "192.0.2.1")));
        var refused = await check.CheckAsync(CheckStage.Mail, Make(ip: "192.0.2.1"), default);
        AssertRefused(refused, CheckAction.TempFail, 451, "4.7.0");
        Assert.Equal("Rate limit exceeded, try again later", refused.Reply!.Text);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(CheckAction.TempFail, await TakeAsync(check, Make(ip: "192.0.2.1")));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(ip: "192.0.2.1")));
        Assert.Equal(CheckAction.TempFail, await TakeAsync(check, Make(ip: "192.0.2.1")));
    }

    [Fact]
    public async Task SeparateKeysAreIndependent()
    {
        var check = new RateLimitCheck(new RateLimitOptions { By = RateLimitKey.Sender, Rate = 1, Per = TimeSpan.FromHours(1), Burst = 1 }, new FakeTimeProvider());
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(sender: "a@example.org")));
        Assert.Equal(CheckAction.TempFail, await TakeAsync(check, Make(sender: "A@example.org")));
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(sender: "b@example.org")));
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(sender: "")));
        Assert.Equal(CheckAction.TempFail, await TakeAsync(check, Make(sender: "")));
    }

    [Fact]
    public async Task AuthUserKeyAtRcptStageCountsRecipients()
    {
        var check = new RateLimitCheck(new RateLimitOptions { By = RateLimitKey.AuthUser, Stage = CheckStage.Rcpt, Rate = 2, Per = TimeSpan.FromMinutes(1), Burst = 2 }, new FakeTimeProvider());
        Assert.True(check.RunsAt(CheckStage.Rcpt));
        Assert.False(check.RunsAt(CheckStage.Mail));
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(user: "alice", recipient: "x@example.org"), CheckStage.Rcpt));
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(user: "alice", recipient: "y@example.org"), CheckStage.Rcpt));
        Assert.Equal(CheckAction.TempFail, await TakeAsync(check, Make(user: "alice", recipient: "z@example.org"), CheckStage.Rcpt));
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(user: "bob", recipient: "z@example.org"), CheckStage.Rcpt));
        for (var i = 0; i < 5; i++) // unauthenticated sessions are not counted by user
            Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(recipient: "z@example.org"), CheckStage.Rcpt));
    }

    [Fact]
    public async Task Ipv6ClientsShareTheirPrefix()
    {
        var check = new RateLimitCheck(new RateLimitOptions { Rate = 1, Per = TimeSpan.FromHours(1), Burst = 1 }, new FakeTimeProvider());
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(ip: "2001:db8:1:2::1")));
        Assert.Equal(CheckAction.TempFail, await TakeAsync(check, Make(ip: "2001:db8:1:2:ffff::9")));
        Assert.Equal(CheckAction.Accept, await TakeAsync(check, Make(ip: "2001:db8:1:3::1")));
    }

    [Fact]
    public async Task BucketsAreBoundedAndIdleOnesEvicted()
    {
        var time = new FakeTimeProvider();
        var check = new RateLimitCheck(new RateLimitOptions { Rate = 1, Per = TimeSpan.FromSeconds(1), Burst = 2, MaxBuckets = 10 }, time);
        for (var i = 0; i < 50; i++)
            await TakeAsync(check, Make(ip: $"192.0.2.{i}"));
        Assert.Equal(10, check.BucketCount);
        time.Advance(TimeSpan.FromSeconds(5)); // every bucket refilled: idle
        await TakeAsync(check, Make(ip: "198.51.100.1"));
        Assert.Equal(1, check.BucketCount);
    }

    [Fact]
    public void OptionsAreValidated()
    {
        var problems = new RateLimitOptions { Rate = 0, Per = TimeSpan.Zero, Burst = 0, Stage = CheckStage.Body }.Validate();
        Assert.Contains("rate: must be positive", problems);
        Assert.Contains("per: must be positive", problems);
        Assert.Contains("burst: must be at least 1", problems);
        Assert.Contains("stage: must be mail or rcpt", problems);
        Assert.Throws<ArgumentException>(() => new RateLimitCheck(new RateLimitOptions { Burst = 0 }));
    }
}
