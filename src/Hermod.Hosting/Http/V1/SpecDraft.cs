using System.Text.Json;
using Hermod.Mime;

namespace Hermod.Hosting.Http.V1;

/// <summary>Turns a JSON message spec into a MIME message (Hermod.Mime), or field-level errors.</summary>
internal static class SpecDraft
{
    public sealed record Result(MessagesApi.Draft? Draft, Dictionary<string, string[]>? Errors);

    public static async Task<Result> BuildAsync(ReadOnlyMemory<byte> body, ApiOptions api, string hostname, TimeProvider time, CancellationToken cancellationToken)
    {
        SendRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<SendRequest>(body.Span, Json.Options);
        }
        catch (JsonException e)
        {
            return Fail(e.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "body", $"Not valid JSON here: {e.Message.Split(" Path:")[0]}");
        }
        if (request is null)
            return Fail("body", "A message spec is required.");

        var errors = new Dictionary<string, string[]>();
        var spec = new MessageSpec { Subject = request.Subject, Text = request.Text, Html = request.Html };
        if (request.From is null)
            errors["from"] = ["Required."];
        else
            spec.From = new MailAddress(request.From.Address, request.From.Name);
        void Add(IReadOnlyList<AddressSpec>? list, IList<MailAddress> target)
        {
            foreach (var a in list ?? [])
                target.Add(new MailAddress(a.Address, a.Name));
        }
        Add(request.To, spec.To);
        Add(request.Cc, spec.Cc);
        Add(request.Bcc, spec.Bcc);
        Add(request.ReplyTo, spec.ReplyTo);
        foreach (var (name, value) in request.Headers ?? new Dictionary<string, string>())
            spec.Headers[name] = value;
        if (request.Tags is { Count: > 50 } || request.Tags?.Any(t => t.Length is 0 or > 100) == true)
            errors["tags"] = ["At most 50 tags of 1 to 100 characters."];
        if (request.Metadata is { Count: > 50 } || request.Metadata?.Any(m => m.Key.Length is 0 or > 100 || m.Value.Length > 1000) == true)
            errors["metadata"] = ["At most 50 entries; keys of 1 to 100 characters, values up to 1000."];
        var recipientCount = spec.To.Count + spec.Cc.Count + spec.Bcc.Count;
        if (recipientCount == 0)
            errors["to"] = ["At least one recipient (to, cc or bcc) is required."];
        else if (recipientCount > api.MaxRecipients)
            errors["to"] = [$"At most {api.MaxRecipients} recipients (to, cc and bcc together)."];

        var attachments = request.Attachments ?? [];
        for (var i = 0; i < attachments.Count; i++)
        {
            var a = attachments[i];
            if (a.Content is not { } bytes)
            {
                errors[$"attachments[{i}].content"] = ["Not valid base64."];
                continue;
            }
            if (bytes.Length > api.MaxAttachmentSize)
                errors[$"attachments[{i}].content"] = [$"At most {api.MaxAttachmentSize} bytes."];
            spec.Attachments.Add(new MimeAttachment(a.Filename ?? "", a.ContentType ?? "", bytes, a.ContentId));
        }

        foreach (var problem in MimeBuilder.Validate(spec))
        {
            var colon = problem.IndexOf(": ", StringComparison.Ordinal);
            var field = colon > 0 ? problem[..colon] : "body";
            var text = colon > 0 ? problem[(colon + 2)..] : problem;
            errors[field] = errors.TryGetValue(field, out var existing) ? [.. existing, text] : [text];
        }
        if (errors.Count > 0)
            return new Result(null, errors);

        // sized once and handed on as it is: grown as it was written and copied out, a message with a 20 MB attachment
        // had left about twice its size behind
        using var content = new MemoryStream(MimeBuilder.SizeHint(spec));
        await MimeBuilder.WriteAsync(spec, content, hostname, time, cancellationToken);
        var recipients = spec.To.Concat(spec.Cc).Concat(spec.Bcc).Select(a => a.Address).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var metadata = request.Tags is { Count: > 0 } || request.Metadata is { Count: > 0 }
            ? JsonSerializer.Serialize(new StoredMetadata(request.Tags, request.Metadata), Json.Options)
            : null;
        return new Result(new MessagesApi.Draft(spec.From!.Address, recipients, content.GetBuffer().AsMemory(0, (int)content.Length), MimeBuilder.RequiresSmtpUtf8(spec), metadata), null);
    }

    private static Result Fail(string field, string message) => new(null, new() { [field] = [message] });
}
