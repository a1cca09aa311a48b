using Hermod.Hosting.TestKit;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.EndToEnd;

/// <summary>Listener addresses as the binary reads them from hermod.yaml.</summary>
public sealed class ListenerConfigTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "hermod-config-" + Guid.NewGuid().ToString("N"));

    public ListenerConfigTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<ProcessResult> CheckConfigAsync(string yaml)
    {
        var path = Path.Combine(_dir, "hermod.yaml");
        await File.WriteAllTextAsync(path, yaml);
        return await Peers.RunAsync(HermodProcess.DotnetHost, [HermodProcess.HermodDll, "check-config", "--config", path], TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Port 0 means "any free port", a different one for each socket, so two listeners on 127.0.0.1:0 do not
    /// collide: the tests bind 127.0.0.1:0 and read the port back.
    /// </summary>
    [Fact]
    public async Task Two_listeners_may_both_use_port_zero()
    {
        var result = await CheckConfigAsync($"""
            hostname: mx.example.test
            data_dir: '{Path.Combine(_dir, "data")}'
            smtp:
              listeners:
                - name: mx
                  address: '127.0.0.1:0'
                  role: ingress
                - name: submission
                  address: '127.0.0.1:0'
                  role: submission
                  tls: starttls
            http:
              address: '127.0.0.1:0'
            """);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("configuration ok: 2 SMTP listener(s)", result.Stdout);
    }

    [Fact]
    public async Task Two_listeners_on_the_same_fixed_port_are_refused()
    {
        var result = await CheckConfigAsync($"""
            hostname: mx.example.test
            data_dir: '{Path.Combine(_dir, "data")}'
            smtp:
              listeners:
                - name: mx
                  address: '127.0.0.1:2525'
                - name: other
                  address: '127.0.0.1:2525'
            """);

        Assert.True(result.ExitCode == 2, result.Describe());
        Assert.Contains("smtp.listeners[1].address: 127.0.0.1:2525 is used by another listener", result.Stderr);
    }
}
