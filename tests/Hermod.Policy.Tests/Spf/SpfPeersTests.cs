namespace Hermod.Policy.Tests.Spf;

public sealed class SpfPeersTests
{
    [Fact]
    public async Task AMissingPythonModuleFailsWithTheInstallHint()
    {
        var failure = await Assert.ThrowsAsync<Xunit.Sdk.FailException>(() => SpfPeers.RequireModulesAsync("hermod_no_such_module"));
        Assert.Contains(SpfPeers.InstallHint, failure.Message);
    }
}
