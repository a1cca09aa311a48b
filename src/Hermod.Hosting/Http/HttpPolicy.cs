using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Microsoft.AspNetCore.Http;

namespace Hermod.Hosting.Http;

/// <summary>What the pipeline made of an HTTP submission: the accepted transaction and body decision, or the refusal and the field it concerns.</summary>
internal sealed record HttpPolicyOutcome(IPipelineTransaction? Transaction, BodyDecision? Decision, SmtpReply? Refusal = null, string Field = "")
{
    public bool Refused => Refusal is not null;
}

/// <summary>Runs an HTTP submission through its pipeline the way an SMTP session would: connection, MAIL, each RCPT, then the body.</summary>
internal static class HttpPolicy
{
    /// <param name="fieldOf">The request field that named recipient i (for the problem document).</param>
    public static async Task<HttpPolicyOutcome> RunAsync(IMessagePipeline pipeline, SessionInfo session, string sender, IReadOnlyList<string> recipients,
        IBlobWriter body, Func<int, string> fieldOf, string senderField, CancellationToken cancellationToken)
    {
        var connection = await pipeline.ConnectAsync(session, cancellationToken);
        if (connection.Refusal is { } refused)
            return new HttpPolicyOutcome(null, null, refused);
        var tx = pipeline.Begin(session, connection);
        if (await tx.MailAsync(sender, cancellationToken) is { } senderRefused)
            return new HttpPolicyOutcome(null, null, senderRefused, senderField);
        for (var i = 0; i < recipients.Count; i++)
            if (await tx.RcptAsync(new EnvelopeRecipient(recipients[i]), cancellationToken) is { } recipientRefused)
                return new HttpPolicyOutcome(null, null, recipientRefused, fieldOf(i));
        var decision = await tx.BodyAsync(body, cancellationToken);
        return decision.Refusal is { } bodyRefused ? new HttpPolicyOutcome(null, null, bodyRefused) : new HttpPolicyOutcome(tx, decision);
    }

    /// <summary>A refusal as HTTP: 422 for a permanent one (the SMTP reply per field), 503 with Retry-After for a temporary one.</summary>
    public static IResult Problem(HttpContext http, HttpPolicyOutcome outcome)
    {
        var reply = outcome.Refusal!;
        if (!reply.IsPermanent)
        {
            http.Response.Headers.RetryAfter = "60";
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Try again later", detail: reply.ToString());
        }
        return outcome.Field.Length > 0
            ? Results.ValidationProblem(new Dictionary<string, string[]> { [outcome.Field] = [reply.ToString()] }, statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "Refused by policy", detail: reply.ToString())
            : Results.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Refused by policy", detail: reply.ToString());
    }
}
