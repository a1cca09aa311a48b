using System.Security.Cryptography;
using System.Text;
using Hermod.Core.IO;
using Hermod.Core.Storage;
using Hermod.Core.Text;

namespace Hermod.Delivery.Bounces;

/// <summary>
/// Builds RFC 3464 delivery status notifications: multipart/report with a human-readable part, the
/// message/delivery-status part (RFC 6533 global variants for SMTPUTF8 mail) and the original headers, or the
/// whole original for RET=FULL. One DSN covers every recipient of a message that owes one.
/// </summary>
public static class DsnBuilder
{
    /// <summary>Original headers copied into a DSN are bounded (DESIGN: every buffer has a limit).</summary>
    public const int MaxHeaderBytes = 256 * 1024;

    public sealed record Recipient(DeliverySummary Delivery, DsnKind Kind);

    public static string Subject(IReadOnlyList<Recipient> recipients) =>
        recipients.Any(r => r.Kind == DsnKind.Failure) ? "Undelivered Mail Returned to Sender"
        : recipients.Any(r => r.Kind == DsnKind.Delay) ? "Delayed Mail (still being retried)"
        : "Successful Mail Delivery Report";

    /// <summary>Writes the DSN message. <paramref name="copyOriginal"/> writes the stored original message.</summary>
    public static async Task WriteAsync(
        Stream output,
        string reportingMta,
        StoredMessage original,
        IReadOnlyList<Recipient> recipients,
        DateTimeOffset now,
        DateTimeOffset? willRetryUntil,
        Func<Stream, CancellationToken, Task> copyOriginal,
        CancellationToken cancellationToken)
    {
        var env = original.Envelope;
        var global = env.SmtpUtf8;
        var boundary = $"{now.ToUnixTimeSeconds()}/{Convert.ToHexString(RandomNumberGenerator.GetBytes(8))}/{reportingMta}";
        var full = env.Ret == DsnReturn.Full;
        var text = new StringBuilder();
        void Line(string s) => text.Append(s).Append("\r\n");

        Line($"From: Mail Delivery System <MAILER-DAEMON@{reportingMta}>");
        Line($"To: <{env.Sender}>");
        Line($"Subject: {Subject(recipients)}");
        Line($"Date: {Rfc5322.Date(now)}");
        Line($"Message-ID: <{now.ToUnixTimeMilliseconds()}.{Convert.ToHexString(RandomNumberGenerator.GetBytes(6))}@{reportingMta}>");
        Line("Auto-Submitted: auto-replied");
        Line("MIME-Version: 1.0");
        Line($"Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"");
        Line("");
        Line("This is a MIME-encapsulated message.");
        Line("");
        Line($"--{boundary}");
        Line("Content-Type: text/plain; charset=utf-8");
        Line("Content-Transfer-Encoding: 8bit");
        Line("");
        Line($"This is the mail system at host {reportingMta}.");
        Line("");
        foreach (var group in recipients.GroupBy(r => r.Kind))
        {
            Line(group.Key switch
            {
                DsnKind.Failure => "Your message could not be delivered to the following recipients; delivery has been given up:",
                DsnKind.Delay => $"Your message has not been delivered yet to the following recipients. Delivery will be retried{(willRetryUntil is { } until ? " until " + Rfc5322.Date(until) : "")}; you need not resend it:",
                _ => "Your message was relayed to a system that does not send delivery notifications for these recipients:",
            });
            Line("");
            foreach (var r in group)
                Line($"  <{r.Delivery.Recipient}>: {r.Delivery.LastReply?.ToString() ?? "no reply"}");
            Line("");
        }

        Line($"--{boundary}");
        Line($"Content-Type: message/{(global ? "global-delivery-status" : "delivery-status")}");
        Line("");
        Line($"Reporting-MTA: dns; {reportingMta}");
        if (env.EnvelopeId is { } envId)
            Line($"Original-Envelope-Id: {envId}");
        Line($"Arrival-Date: {Rfc5322.Date(original.Created)}");
        foreach (var r in recipients)
        {
            var d = r.Delivery;
            Line("");
            if (d.OriginalRecipient is { } orcpt)
                Line($"Original-Recipient: {orcpt}");
            Line($"Final-Recipient: {(global && !Ascii.IsValid(d.Recipient) ? "utf-8" : "rfc822")}; {d.Recipient}");
            Line($"Action: {r.Kind switch { DsnKind.Failure => "failed", DsnKind.Delay => "delayed", _ => "relayed" }}");
            Line($"Status: {Status(r)}");
            if (d.LastReply is { RemoteHost: { } remote })
                Line($"Remote-MTA: dns; {remote}");
            if (d.LastReply is { Answered: true, Reply: var reply })
                Line($"Diagnostic-Code: smtp; {reply.Code} {(reply.Enhanced.IsNone ? "" : $"{reply.Enhanced} ")}{Flatten(reply.Text)}");
            else if (d.LastReply is { } local)
                Line($"Diagnostic-Code: X-Hermod; {Flatten(local.Reply.Text)}");
            Line($"Last-Attempt-Date: {Rfc5322.Date(now)}");
            if (r.Kind == DsnKind.Delay && willRetryUntil is { } retryUntil)
                Line($"Will-Retry-Until: {Rfc5322.Date(retryUntil)}");
        }
        Line("");
        Line($"--{boundary}");
        Line(full
            ? $"Content-Type: message/{(global ? "global" : "rfc822")}"
            : $"Content-Type: {(global ? "message/global-headers" : "text/rfc822-headers")}");
        Line("");
        await output.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), cancellationToken);

        if (full)
            await copyOriginal(output, cancellationToken);
        else
            await copyOriginal(new HeaderOnlyStream(output, MaxHeaderBytes), cancellationToken);
        await output.WriteAsync(Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n"), cancellationToken);
    }

    /// <summary>The enhanced status: the upstream one when given, else one implied by the reply class.</summary>
    private static string Status(Recipient r)
    {
        var reply = r.Delivery.LastReply?.Reply;
        if (reply is { Enhanced.IsNone: false })
            return r.Kind == DsnKind.Relayed ? "2.0.0" : reply.Enhanced.ToString();
        return r.Kind switch
        {
            DsnKind.Failure => reply?.Code is >= 400 and < 500 ? "4.0.0" : "5.0.0",
            DsnKind.Delay => "4.0.0",
            _ => "2.0.0",
        };
    }

    private static string Flatten(string text) => text.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>Passes bytes through up to the end of the header block (the first empty line) or a byte limit, then drops the rest.</summary>
    private sealed class HeaderOnlyStream(Stream inner, int limit) : AsyncWriteStream
    {
        private int _written;
        private int _state; // bytes of "\r\n\r\n" matched so far
        private bool _done;

        protected override long BytesWritten => _written;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_done)
                return;
            var span = buffer.Span;
            var take = 0;
            while (take < span.Length && !_done)
            {
                var b = span[take++];
                _state = (_state, b) switch
                {
                    (0 or 2, (byte)'\r') => _state + 1,
                    (1 or 3, (byte)'\n') => _state + 1,
                    (_, (byte)'\r') => 1,
                    _ => 0,
                };
                _done = _state == 4 || _written + take >= limit; // the empty line that ends the headers is kept
            }
            _written += take;
            await inner.WriteAsync(buffer[..take], cancellationToken);
        }

    }
}
