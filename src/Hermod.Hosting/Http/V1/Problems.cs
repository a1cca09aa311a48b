using Microsoft.AspNetCore.Http;

namespace Hermod.Hosting.Http.V1;

/// <summary>RFC 9457 problem documents (application/problem+json).</summary>
internal static class Problems
{
    public static IResult Create(int status, string title, string detail) =>
        Results.Problem(statusCode: status, title: title, detail: detail);

    /// <summary>400 with field-level details: { "errors": { "to[1]": ["..."] } }.</summary>
    public static IResult Validation(Dictionary<string, string[]> errors) =>
        Results.ValidationProblem(errors, title: "The request is not valid", detail: "See errors for each field.");
}
