using System.Security.Cryptography.X509Certificates;
using Hermod.Core.Configuration;
using Hermod.Core.Diagnostics;
using Hermod.Core.Pipeline;
using Hermod.Core.Security;
using Hermod.Core.Storage;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Hermod.Smtp;

/// <summary>Registers the SMTP server: its options and the <see cref="SmtpServerContext"/> its listeners' sessions share.</summary>
public static class SmtpServiceCollectionExtensions
{
    /// <summary>
    /// The context takes the store, an <see cref="IPasswordVerifier"/>, the <see cref="PipelineSet"/> and
    /// <see cref="HermodOptions"/> (the host name) from the services, and cut-through when it is registered. TryAdd:
    /// what is registered before stays.
    /// </summary>
    /// <param name="certificate">The server certificate for STARTTLS and implicit TLS (null: none), made when the context is first asked for.</param>
    public static IServiceCollection AddHermodSmtp(this IServiceCollection services, SmtpOptions options, Func<IServiceProvider, X509Certificate2?> certificate)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HermodMetrics>();
        services.TryAddSingleton(sp => new SmtpServerContext(sp.GetRequiredService<SmtpOptions>(), sp.GetRequiredService<HermodOptions>().Hostname,
            sp.GetRequiredService<IMessageStore>(), sp.GetRequiredService<IPasswordVerifier>(), certificate(sp), sp.GetRequiredService<HermodMetrics>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<PipelineSet>(), sp.GetService<ICutThrough>()));
        return services;
    }
}
