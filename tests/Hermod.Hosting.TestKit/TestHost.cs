using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Security;
using Hermod.Core.Storage;
using Hermod.Hosting.Configuration;
using Hermod.Hosting.Http;
using Hermod.Smtp.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.TestKit;

/// <summary>A real Hermod host in this process: SMTP listeners and HTTP on 127.0.0.1:0, SQLite in a temporary directory.</summary>
public sealed class TestHost : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";

    /// <summary>A hash made once with few iterations: the tests exercise AUTH, not PBKDF2's cost.</summary>
    public static readonly string PasswordHash = PasswordHasher.Hash(Password, iterations: 1000);

    private TestHost(HermodHost host, HermodConfiguration options, string dataDir)
    {
        Host = host;
        Options = options;
        DataDir = dataDir;
    }

    public HermodHost Host { get; }
    public HermodConfiguration Options { get; }
    public string DataDir { get; }
    public IMessageStore Store => Host.Services.GetRequiredService<IMessageStore>();

    public IPEndPoint Smtp(string listener = "mx") => Host.SmtpEndpoints[listener];

    public Uri Http => new($"http://{Host.HttpEndpoint}");

    /// <summary>Options with an ingress listener "mx" (STARTTLS, no auth) and a submission listener "submission" (STARTTLS, auth required).</summary>
    public static HermodConfiguration DefaultOptions()
    {
        var options = new HermodConfiguration
        {
            Hermod = new HermodOptions { Hostname = "mx.example.test", DataDir = Path.Combine(Path.GetTempPath(), "hermod-test-" + Guid.NewGuid().ToString("N")) },
            Http = new HttpOptions { Address = new IPEndPoint(IPAddress.Loopback, 0) },
            Log = new LogOptions { Level = "warning" },
        };
        options.Smtp.LocalDomains = ["example.test"];
        options.Smtp.Listeners =
        [
            new ListenerOptions { Name = "mx", Address = new IPEndPoint(IPAddress.Loopback, 0), Role = ListenerRole.Ingress, Tls = TlsMode.StartTls, Auth = AuthMode.None },
            new ListenerOptions { Name = "submission", Address = new IPEndPoint(IPAddress.Loopback, 0), Role = ListenerRole.Submission, Tls = TlsMode.StartTls, Auth = AuthMode.Required },
        ];
        options.Users = [new UserOptions { Name = "alice", PasswordHash = PasswordHash }];
        options.Delivery.Enabled = false; // accept and hold: delivery tests switch it on with their own DNS and routes
        options.Dns.Servers = [new IPEndPoint(IPAddress.Loopback, 9)]; // never the machine's resolver
        return options;
    }

    public static async Task<TestHost> StartAsync(Action<HermodConfiguration>? configure = null)
    {
        var options = DefaultOptions();
        configure?.Invoke(options);
        var host = HermodHost.Create(options);
        await host.StartAsync();
        return new TestHost(host, options, options.Hermod.DataDir);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        await Host.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
