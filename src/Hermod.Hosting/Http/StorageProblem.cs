using System.Globalization;
using Hermod.Core.Storage;
using Microsoft.AspNetCore.Http;

namespace Hermod.Hosting.Http;

/// <summary>
/// The answer to a request the store could not serve because its database is out of reach
/// (<see cref="StorageUnavailableException"/>): 503 with <c>Retry-After</c> and an RFC 9457 problem document. Nothing
/// of the request was done, so the client sends it again.
/// </summary>
internal static class StorageProblem
{
    /// <summary>What Retry-After asks a client to wait, in seconds: about what a database restart or fail-over takes.</summary>
    public const int RetryAfterSeconds = 10;

    public const string Title = "Storage unavailable";

    public const string Detail = "The message store cannot be reached; nothing was stored. Try again later.";

    /// <param name="extensions">More members of the problem document (Mini-MailGun's <c>result</c> and <c>message</c>).</param>
    public static IResult Create(HttpContext http, IDictionary<string, object?>? extensions = null)
    {
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: Title, detail: Detail, extensions: extensions);
    }
}
