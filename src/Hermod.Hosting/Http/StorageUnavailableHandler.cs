using Hermod.Core.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hermod.Hosting.Http;

/// <summary>
/// Turns a <see cref="StorageUnavailableException"/> that reached the HTTP pipeline, from any endpoint, into
/// <see cref="StorageProblem"/>'s 503. Any other exception is left to the default handler: a 500 problem document.
/// </summary>
internal sealed partial class StorageUnavailableHandler(ILogger<StorageUnavailableHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not StorageUnavailableException)
            return false;
        LogUnavailable(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        await StorageProblem.Create(httpContext).ExecuteAsync(httpContext);
        return true;
    }

    [LoggerMessage(4101, LogLevel.Warning, "HTTP {Method} {Path}: the store is unavailable; answered 503")]
    private static partial void LogUnavailable(ILogger logger, Exception e, string method, PathString path);
}
