using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Security;
using Hermod.Core.Storage;
using Hermod.Delivery.Bounces;
using Hermod.Delivery.CutThrough;
using Hermod.Delivery.Queue;
using Hermod.Delivery.Retention;
using Hermod.Delivery.Routing;
using Hermod.Delivery.Targets;
using Hermod.Delivery.Transport;
using Hermod.Dns;
using Hermod.Hosting.Configuration;
using Hermod.Hosting.Extensions;
using Hermod.Hosting.Http;
using Hermod.Hosting.Http.MiniMailgun;
using Hermod.Policy.Pipeline;
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

    public IServiceProvider Services => _app.Services;

    /// <summary>The SMTP endpoints as bound (port 0 in config becomes the real port).</summary>
    public IReadOnlyDictionary<string, IPEndPoint> SmtpEndpoints => _smtp.ToDictionary(l => l.Options.Name, l => (IPEndPoint)l.Kestrel.EndPoint);

    public IPEndPoint HttpEndpoint => (IPEndPoint)_http!.EndPoint;

    /// <param name="extensions">Checks, modifiers and targets beyond the built-in ones (null: only those).</param>
    public static HermodHost Create(HermodConfiguration config, HermodExtensions? extensions = null, Action<ILoggingBuilder>? logging = null) =>
        Create(config, extensions, logging, inspectOnly: false);

    /// <param name="inspectOnly">Built to look at, never started (check-config): the store does not take up an earlier run's unfinished work.</param>
    private static HermodHost Create(HermodConfiguration config, HermodExtensions? extensions, Action<ILoggingBuilder>? logging, bool inspectOnly)
    {
        InlineIo.Enable(); // before the process's first socket
        extensions ??= new HermodExtensions();
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
        services.AddSingleton(config.Delivery);
        services.AddSingleton(config.Http);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<HermodMetrics>();
        services.AddSingleton<PrometheusExporter>();
        services.AddSingleton<IPasswordVerifier>(new ConfiguredUsers(config.Users));
        config.Storage.AddStore(services, recover: !inspectOnly);
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        services.AddSingleton<MiniMailgunApi>();
        services.AddOpenApi();
        services.AddHttpClient();
        services.AddHostedService<Http.Webhooks.WebhookDispatcher>();
        services.AddProblemDetails();
        AddPipelines(services, config, extensions); // its start/stop hooks before the queue runner starts, after it stops
        AddDelivery(services, config, extensions);
        extensions.ConfigureServices(services);
        services.AddSingleton(sp => new SmtpServerContext(options, sp.GetRequiredService<IMessageStore>(), sp.GetRequiredService<IPasswordVerifier>(),
            CertificateProvider.Load(options, config.Tls), sp.GetRequiredService<HermodMetrics>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<PipelineSet>(), sp.GetService<ICutThrough>()));

        var host = new HermodHost();
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = InlineIo.Enabled); // the sessions' code too, not only the socket's
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            host._smtp.Clear();
            kestrel.Listen(config.Http.Address, listen => host._http = listen);
            foreach (var listener in options.Smtp.Listeners)
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

    /// <summary>Pipelines and the components in them, built (and validated) once; components with start/stop hooks run them.</summary>
    private static void AddPipelines(IServiceCollection services, HermodConfiguration config, HermodExtensions extensions)
    {
        services.AddSingleton(sp => new PipelineBuilder(config.Policy, config.Smtp.Limits.MaxHeaderSize, extensions.Checks, extensions.Modifiers, extensions.StreamProcessors, sp, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MessagePipeline>>()));
        services.AddSingleton(sp =>
        {
            var built = sp.GetRequiredService<PipelineBuilder>().Build(MaxPolicyWorkers);
            return new PipelineSet(built.ToDictionary(p => p.Key, p => (IMessagePipeline)p.Value), MessagePipeline.Default(config.Smtp.Limits.MaxHeaderSize));
        });
        services.AddHostedService<ComponentLifecycleService>();
    }

    /// <summary>Checks running at once over all sessions; beyond it a stage is answered 451 4.3.2.</summary>
    private const int MaxPolicyWorkers = 1024;

    private static void AddDelivery(IServiceCollection services, HermodConfiguration config, HermodExtensions extensions)
    {
        services.AddSingleton<IDnsResolver>(_ =>
        {
            var dns = config.Dns;
            var servers = dns.Servers.Count > 0 ? dns.Servers : [.. ResolvConf.Load()];
            if (servers.Count == 0)
                throw new ConfigException(["dns.servers: none configured and /etc/resolv.conf names none"]);
            return new StubResolver(new DnsOptions { Servers = [.. servers], Timeout = dns.Timeout, Attempts = dns.Attempts });
        });
        services.AddSingleton<Router>();
        services.AddSingleton<IMessageTransport, SmtpTransport>();
        services.AddSingleton(sp => new DeliveryTargets(config.Delivery, extensions.Targets,
            new SmtpTarget(sp.GetRequiredService<Router>(), sp.GetRequiredService<IMessageTransport>()), sp));
        services.AddSingleton<BounceService>();
        if (config.Delivery.Enabled)
        {
            services.AddHostedService<QueueRunner>();
            services.AddSingleton<ICutThrough, CutThroughService>();
        }
    }

    /// <summary>Builds every pipeline and target of <paramref name="config"/> as serve would, without starting anything; throws <see cref="ConfigException"/> listing every problem.</summary>
    public static async Task ValidateAsync(HermodConfiguration config, HermodExtensions extensions)
    {
        await using var host = Create(config, extensions, logging: null, inspectOnly: true);
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
}
