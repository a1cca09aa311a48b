using Hermod.Dns;
using Hermod.Policy.Checks;
using Hermod.Policy.Dkim;
using Hermod.Policy.Tests.Dkim;
using static Hermod.Policy.Tests.Checks.Contexts;

namespace Hermod.Policy.Tests.Checks;

public sealed class DkimVerifyCheckTests
{
    private static readonly Lazy<DkimSigningKey> Key = new(() => DkimKeys.Create(DkimKeyAlgorithm.Ed25519, "example.org", "sel"));

    private static DkimVerifyCheck Check(IDnsResolver dns, params string[] required) =>
        new(dns, new DkimVerifyOptions { AuthservId = "mx.example.net", Required = required });

    private static FakeTxtResolver Dns() => new FakeTxtResolver().Add(Key.Value.RecordName, Key.Value.RecordText);

    private static Task<CheckResult> RunAsync(DkimVerifyCheck check, string message, string sender = "alice@example.org") =>
        check.CheckAsync(CheckStage.Body, Make(sender: sender, message: message), default);

    [Fact]
    public async Task PassingSignatureIsAnnotated()
    {
        var signed = await DkimSignVerifyTests.SignAsync(DkimSamples.Message, Key.Value);
        var result = await RunAsync(Check(Dns(), "example.org"), signed);
        Assert.Equal(CheckAction.Accept, result.Action);
        Assert.StartsWith("mx.example.net; dkim=pass header.d=example.org header.s=sel header.a=ed25519-sha256 header.b=", Header(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnsignedMessageIsAnnotatedAsNoneAndAcceptedByDefault()
    {
        var result = await RunAsync(Check(Dns()), DkimSamples.Message);
        Assert.Equal(CheckAction.Accept, result.Action);
        Assert.Equal("mx.example.net; dkim=none", Header(result));
    }

    [Fact]
    public async Task RequiredDomainWithoutPassingSignatureIsRejectedWith550()
    {
        var unsigned = await RunAsync(Check(Dns(), "example.org"), DkimSamples.Message, sender: "bounce@other.example");
        AssertRefused(unsigned, CheckAction.Reject, 550, "5.7.20"); // From: alice@example.org

        var signed = await DkimSignVerifyTests.SignAsync(DkimSamples.Message, Key.Value);
        var tampered = signed.Replace("this is\ta test.", "this is a forgery.", StringComparison.Ordinal);
        var result = await RunAsync(Check(Dns(), "example.org"), tampered);
        AssertRefused(result, CheckAction.Reject, 550, "5.7.20");
        Assert.StartsWith("mx.example.net; dkim=fail", Header(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailingSignatureOfAnotherDomainIsOnlyAnnotated()
    {
        var signed = await DkimSignVerifyTests.SignAsync(DkimSamples.Message, Key.Value);
        var tampered = signed.Replace("this is\ta test.", "this is a forgery.", StringComparison.Ordinal);
        var result = await RunAsync(Check(Dns(), "bank.example"), tampered);
        Assert.Equal(CheckAction.Accept, result.Action);
        Assert.StartsWith("mx.example.net; dkim=fail", Header(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequiredDomainWithKeyLookupFailureTempFails()
    {
        var signed = await DkimSignVerifyTests.SignAsync(DkimSamples.Message, Key.Value);
        var dns = new FakeTxtResolver().Fail(Key.Value.RecordName, DnsStatus.Timeout);
        var result = await RunAsync(Check(dns, "example.org"), signed);
        AssertRefused(result, CheckAction.TempFail, 451, "4.7.20");
        Assert.StartsWith("mx.example.net; dkim=temperror", Header(result), StringComparison.Ordinal);
    }
}
