using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Security;
using Hermod.Delivery;
using Hermod.Delivery.Targets;
using Hermod.Dns;
using Hermod.Hosting.Configuration;
using Hermod.Hosting.Http;
using Hermod.Policy;
using Hermod.Smtp;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hermod.Hosting;

/// <summary>One ASP.NET Core host for the SMTP listeners and the HTTP API: one DI container, one log, one shutdown.</summary>
public sealed partial class HermodHost : IAsyncDisposable
{
    private WebApplication _app = null!;
    private readonly List<(ListenerOptions Options, ListenOptions Kestrel)> _smtp = [];
    private ListenOptions? _http;
    private IReadOnlyList<string> _warnings = [];

    public IServiceProvider Services => _app.Services;

    /// <summary>The SMTP endpoints as bound (port 0 in config becomes the real port).</summary>
    public IReadOnlyDictionary<string, IPEndPoint> SmtpEndpoints => _smtp.ToDictionary(l => l.Options.Name, l => (IPEndPoint)l.Kestrel.EndPoint);

    public IPEndPoint HttpEndpoint => (IPEndPoint)_http!.EndPoint;

    /// <param name="services">
    /// Registers what the hosting program adds, after Hermod's own (so it may replace a service): checks, modifiers,
    /// stream processors and target types (<c>AddCheck</c>, <c>AddModifier</c>, <c>AddStreamProcessor</c>,
    /// <c>AddTarget</c>) and the services they take.
    /// </param>
    public static HermodHost Create(HermodConfiguration config, Action<IServiceCollection>? services = null, Action<ILoggingBuilder>? logging = null) =>
        Create(config, services, logging, inspectOnly: false);

    /// <param name="inspectOnly">Built to look at, never started (check-config): the store does not take up an earlier run's unfinished work.</param>
    private static HermodHost Create(HermodConfiguration config, Action<IServiceCollection>? extend, Action<ILoggingBuilder>? logging, bool inspectOnly)
    {
        InlineIo.Enable(); // before the process's first socket
        // Hermod reads no appsettings.json: nothing to watch, and a watcher on the working directory (recursive) would take a
        // wake-up for every file written under it — the data directory, when it is run from there.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(c =>
        {
            c.SingleLine = true;
            c.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            c.UseUtcTimestamp = true;
        });
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(config.Log.Level, ignoreCase: true));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        logging?.Invoke(builder.Logging);

        var services = builder.Services;
        var options = config.Hermod;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<HermodMetrics>();
        services.AddSingleton<IPasswordVerifier>(_ => new ConfiguredUsers(config.Users));
        services.AddSingleton<IDnsResolver>(_ => Resolver(config.Dns));
        config.Storage.AddStore(services, recover: !inspectOnly);
        services.AddHermodHttp(config.Http);
        services.AddHermodPolicy(config.Policy, config.Smtp.Limits.MaxHeaderSize);
        services.AddHostedService<ComponentLifecycleService>(); // its start hooks before the queue runner starts, stop hooks after it stops
        services.AddHermodDelivery(config.Delivery);
        services.AddHermodSmtp(config.Smtp, _ => CertificateProvider.Load(options, config.Tls));
        extend?.Invoke(services);

        var host = new HermodHost { _warnings = config.Warnings };
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = InlineIo.Enabled); // the sessions' code too, not only the socket's
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            host._smtp.Clear();
            kestrel.Listen(config.Http.Address, listen => host._http = listen);
            foreach (var listener in config.Smtp.Listeners)
                kestrel.Listen(listener.Address, listen =>
                {
                    host._smtp.Add((listener, listen));
                    listen.Use(_ =>
                    {
                        var handler = new SmtpConnectionHandler(
                            listen.ApplicationServices.GetRequiredService<SmtpServerContext>(), listener,
                            listen.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
                        return handler.OnConnectedAsync;
                    });
                });
        });

        host._app = builder.Build();
        Endpoints.Map(host._app);
        return host;
    }

    /// <summary>The resolver of dns: (no servers: those of /etc/resolv.conf).</summary>
    private static StubResolver Resolver(DnsOptions dns)
    {
        var servers = dns.Servers.Count > 0 ? dns.Servers : [.. ResolvConf.Load()];
        if (servers.Count == 0)
            throw new ConfigException(["dns.servers: none configured and /etc/resolv.conf names none"]);
        return new StubResolver(new DnsOptions { Servers = [.. servers], Timeout = dns.Timeout, Attempts = dns.Attempts });
    }

    /// <summary>Builds every pipeline and target of <paramref name="config"/> as serve would, without starting anything; throws <see cref="ConfigException"/> listing every problem.</summary>
    /// <param name="services">As <see cref="Create(HermodConfiguration, Action{IServiceCollection}?, Action{ILoggingBuilder}?)"/>.</param>
    public static async Task ValidateAsync(HermodConfiguration config, Action<IServiceCollection>? services = null)
    {
        await using var host = Create(config, services, logging: null, inspectOnly: true);
        var errors = new List<string>();
        foreach (var part in (Type[])[typeof(PipelineSet), typeof(DeliveryTargets)])
            try
            {
                _ = host._app.Services.GetRequiredService(part);
            }
            catch (ConfigException e)
            {
                errors.AddRange(e.Errors);
            }
        if (errors.Count > 0)
            throw new ConfigException(errors);
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        _ = _app.Services.GetRequiredService<PrometheusExporter>(); // listen before the first measurement
        _ = _app.Services.GetRequiredService<SmtpServerContext>(); // open the store, load the certificate, build the pipelines before binding
        _ = _app.Services.GetRequiredService<DeliveryTargets>();
        await _app.StartAsync(cancellationToken);
        var logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Hermod");
        var options = _app.Services.GetRequiredService<HermodOptions>();
        LogStarted(logger, options.Hostname, Path.GetFullPath(options.DataDir));
        foreach (var warning in _warnings)
            LogConfigWarning(logger, warning);
        foreach (var (listener, kestrel) in _smtp)
            LogSmtpListening(logger, listener.Name, listener.Role.ToString().ToLowerInvariant(), listener.Tls.ToString().ToLowerInvariant(), kestrel.EndPoint);
        LogHttpListening(logger, _http!.EndPoint);
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
    }

    [LoggerMessage(1, LogLevel.Information, "Hermod {Hostname} started; data in {DataDir}")]
    private static partial void LogStarted(ILogger logger, string hostname, string dataDir);

    [LoggerMessage(2, LogLevel.Information, "SMTP listener {Name} ({Role}, tls {Tls}) on {EndPoint}")]
    private static partial void LogSmtpListening(ILogger logger, string name, string role, string tls, EndPoint endPoint);

    [LoggerMessage(3, LogLevel.Information, "HTTP on http://{EndPoint}")]
    private static partial void LogHttpListening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(4, LogLevel.Warning, "Configuration: {Warning}")]
    private static partial void LogConfigWarning(ILogger logger, string warning);
}
