using Hermod.Policy.Checks;
using Hermod.Policy.Tests.Spf;
using static Hermod.Policy.Tests.Checks.Contexts;

namespace Hermod.Policy.Tests.Checks;

public sealed class SpfCheckTests
{
    private static FakeSpfDns Zone() => new FakeSpfDns()
        .Txt("example.org", "v=spf1 ip4:192.0.2.1 exp=why.example.org -all")
        .Txt("why.example.org", "%{i} is not a mail server of %{d}")
        .Txt("plain.example", "v=spf1 ip4:192.0.2.1 -all")
        .Txt("soft.example", "v=spf1 ip4:192.0.2.1 ~all")
        .Txt("broken.example", "v=spf1 ip4:not-an-ip -all")
        .Timeout("temp.example");

    private static SpfCheck Check(SpfCheckOptions? options = null) =>
        new(Zone(), options ?? new SpfCheckOptions { AuthservId = "mx.example.net" });

    private static Task<CheckResult> RunAsync(SpfCheck check, string ip, string sender) =>
        check.CheckAsync(CheckStage.Mail, Make(ip: ip, sender: sender, helo: "client.example"), default);

    [Fact]
    public async Task PassAcceptsAndAnnotates()
    {
        var result = await RunAsync(Check(), "192.0.2.1", "alice@example.org");
        Assert.Equal(CheckAction.Accept, result.Action);
        Assert.Equal("mx.example.net; spf=pass smtp.mailfrom=example.org", Header(result));
    }

    [Fact]
    public async Task FailRejectsWith550AndTheExplanation()
    {
        var result = await RunAsync(Check(), "192.0.2.66", "alice@example.org");
        AssertRefused(result, CheckAction.Reject, 550, "5.7.23");
        Assert.Equal("192.0.2.66 is not a mail server of example.org", result.Reply!.Text);
        Assert.Equal("mx.example.net; spf=fail smtp.mailfrom=example.org", Header(result));

        var plain = await RunAsync(Check(), "192.0.2.66", "alice@plain.example");
        AssertRefused(plain, CheckAction.Reject, 550, "5.7.23");
        Assert.Contains("plain.example does not designate 192.0.2.66", plain.Reply!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailOnlyAnnotatesWhenRejectIsOff()
    {
        var result = await RunAsync(Check(new SpfCheckOptions { AuthservId = "mx.example.net", RejectOnFail = false }), "192.0.2.66", "alice@example.org");
        Assert.Equal(CheckAction.Accept, result.Action);
        Assert.Equal("mx.example.net; spf=fail smtp.mailfrom=example.org", Header(result));
    }

    [Fact]
    public async Task SoftFailAccepts()
    {
        var result = await RunAsync(Check(), "192.0.2.66", "alice@soft.example");
        Assert.Equal(CheckAction.Accept, result.Action);
        Assert.Equal("mx.example.net; spf=softfail smtp.mailfrom=soft.example", Header(result));
    }

    [Fact]
    public async Task TempErrorTempFailsWith451UnlessConfigured()
    {
        var result = await RunAsync(Check(), "192.0.2.1", "alice@temp.example");
        AssertRefused(result, CheckAction.TempFail, 451, "4.7.24");
        Assert.Equal("mx.example.net; spf=temperror smtp.mailfrom=temp.example", Header(result));
        var lenient = await RunAsync(Check(new SpfCheckOptions { AuthservId = "mx.example.net", TempFailOnTempError = false }), "192.0.2.1", "alice@temp.example");
        Assert.Equal(CheckAction.Accept, lenient.Action);
    }

    [Fact]
    public async Task PermErrorRejectsOnlyWhenConfigured()
    {
        Assert.Equal(CheckAction.Accept, (await RunAsync(Check(), "192.0.2.1", "a@broken.example")).Action);
        var strict = Check(new SpfCheckOptions { AuthservId = "mx.example.net", RejectOnPermError = true, AddReceivedSpf = true });
        var result = await RunAsync(strict, "192.0.2.1", "a@broken.example");
        AssertRefused(result, CheckAction.Reject, 550, "5.7.24");
        Assert.StartsWith("permerror (mx.example.net:", Header(result, "Received-SPF"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NullSenderChecksHelo()
    {
        var zone = Zone().Txt("client.example", "v=spf1 ip4:192.0.2.9 -all");
        var check = new SpfCheck(zone, new SpfCheckOptions { AuthservId = "mx.example.net" });
        var result = await check.CheckAsync(CheckStage.Mail, Make(ip: "192.0.2.9", sender: "", helo: "client.example"), default);
        Assert.Equal("mx.example.net; spf=pass smtp.helo=client.example", Header(result));
    }

    [Fact]
    public void AuthservIdIsRequired()
    {
        Assert.Contains("authserv_id: must be a host name (no spaces or ';')", new SpfCheckOptions().Validate());
        Assert.Throws<ArgumentException>(() => new SpfCheck(Zone(), new SpfCheckOptions { AuthservId = "a b" }));
    }
}
