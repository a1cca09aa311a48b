using System.Data.Common;
using System.Net;
using Hermod.Core.Smtp;

namespace Hermod.Core.Storage.Tables;

/// <summary>
/// The rows both SQL providers keep (docs/storage.md, "Tables"), read and written the same way: a query selects
/// <see cref="MessageColumns"/> then <see cref="DeliveryColumns"/> (tables aliased m and d), ordered by message.
/// </summary>
public static class MessageRows
{
    public const string MessageColumns =
        "m.id, m.sender, m.size, m.body_type, m.smtputf8, m.ret, m.envid, m.listener, m.client_ip, m.helo, m.auth_user, m.tls, m.created, m.tenant, m.submission_id, m.metadata";

    public const string DeliveryColumns =
        "d.id, d.recipient, d.route, d.state, d.attempts, d.notify, d.orcpt, d.due_at, d.last_remote, d.last_code, d.last_enhanced, d.last_text, d.dsn_pending, d.lease_owner";

    public static string StateName(DeliveryState state) => state.ToString().ToLowerInvariant();

    public static string? NullableString(DbDataReader reader, int i)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.IsDBNull(i) ? null : reader.GetString(i);
    }

    /// <summary>The messages a query of <see cref="MessageColumns"/> and <see cref="DeliveryColumns"/> returns, each with its deliveries.</summary>
    public static async Task<IReadOnlyList<StoredMessage>> ReadAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var result = new List<StoredMessage>();
        string? currentId = null;
        List<EnvelopeRecipient> recipients = [];
        List<DeliverySummary> deliveries = [];
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetString(0);
            if (id != currentId)
            {
                currentId = id;
                recipients = [];
                deliveries = [];
                var source = new MessageSource(reader.GetString(7), IPAddress.Parse(reader.GetString(8)), reader.GetString(9),
                    NullableString(reader, 10), NullableString(reader, 11), NullableString(reader, 13));
                var envelope = new MessageEnvelope(id, reader.GetString(1), recipients, source,
                    reader.GetString(3) == "8bitmime" ? BodyType.EightBitMime : BodyType.SevenBit,
                    reader.GetInt64(4) != 0,
                    reader.IsDBNull(5) ? DsnReturn.Default : reader.GetString(5) == "full" ? DsnReturn.Full : DsnReturn.Headers,
                    NullableString(reader, 6), NullableString(reader, 14), NullableString(reader, 15));
                result.Add(new StoredMessage(envelope, reader.GetInt64(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(12)), deliveries));
            }
            var delivery = ReadDelivery(reader, 16);
            recipients.Add(new EnvelopeRecipient(delivery.Recipient, delivery.Notify, delivery.OriginalRecipient, delivery.Route));
            deliveries.Add(delivery);
        }
        return result;
    }

    private static DeliverySummary ReadDelivery(DbDataReader r, int i)
    {
        var state = Enum.Parse<DeliveryState>(r.GetString(i + 3), ignoreCase: true);
        var reply = r.IsDBNull(i + 9) ? null
            : new UpstreamReply(NullableString(r, i + 8), new SmtpReply(r.GetInt32(i + 9), EnhancedStatusCode.Parse(r.GetString(i + 10)), r.GetString(i + 11)));
        return new DeliverySummary(
            r.GetInt64(i), r.GetString(i + 1), r.GetString(i + 2), state, r.GetInt32(i + 4), (DsnNotify)r.GetInt32(i + 5), NullableString(r, i + 6),
            state is DeliveryState.Queued or DeliveryState.Deferred && !r.IsDBNull(i + 7) ? DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i + 7)) : null,
            reply,
            r.IsDBNull(i + 12) ? DsnKind.None : Enum.Parse<DsnKind>(r.GetString(i + 12), ignoreCase: true),
            state == DeliveryState.Inflight ? NullableString(r, i + 13) : null);
    }

    /// <summary>What an attempt's outcome makes of its delivery: state, next attempt (deferred only), the DSN it owes, whether a delay warning went.</summary>
    public static (string State, long? Due, string? Dsn, int DelayWarned) OutcomeColumns(RecipientOutcome outcome, DateTimeOffset ended)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return (
            outcome.Status switch
            {
                AttemptStatus.Delivered => "delivered",
                AttemptStatus.Failed => "failed",
                _ => "deferred",
            },
            outcome.Status == AttemptStatus.Deferred ? (outcome.NextAttempt ?? ended).ToUnixTimeMilliseconds() : null,
            outcome.Dsn == DsnKind.None ? null : outcome.Dsn.ToString().ToLowerInvariant(),
            outcome.Dsn == DsnKind.Delay ? 1 : 0);
    }

    /// <summary>
    /// The values of a message row, in the order of <see cref="InsertColumns"/>: its id, sender, blob, stored prefix
    /// (trace headers, then a replacing header block), and what <see cref="ReadAsync"/> reads back.
    /// </summary>
    public static object?[] Values(MessageEnvelope envelope, string headerPrefix, ReplacedHeader? header, long blobId, long bodyLength, long now, bool finished)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var prefix = System.Text.Encoding.UTF8.GetBytes(headerPrefix);
        if (header is not null)
            prefix = [.. prefix, .. header.Block];
        var offset = header?.ReceivedLength ?? 0;
        var source = envelope.Source;
        return
        [
            envelope.Id, envelope.Sender, blobId, prefix, offset, prefix.Length + bodyLength - offset,
            envelope.Body == BodyType.EightBitMime ? "8bitmime" : "7bit", envelope.SmtpUtf8 ? 1 : 0,
            envelope.Ret switch { DsnReturn.Full => "full", DsnReturn.Headers => "hdrs", _ => null },
            envelope.EnvelopeId, source.Listener, source.ClientAddress.ToString(), source.Helo, source.AuthUser, source.TlsProtocol, now,
            source.Tenant, envelope.SubmissionId, envelope.Metadata, finished ? now : null,
        ];
    }

    /// <summary>The columns of a message row, in the order of <see cref="Values"/>.</summary>
    public const string InsertColumns =
        "id, sender, blob_id, header_prefix, body_offset, size, body_type, smtputf8, ret, envid, listener, client_ip, helo, auth_user, tls, created, tenant, submission_id, metadata, finished";

    /// <summary>Refuses a submission without envelopes, or with an envelope of another submission.</summary>
    /// <exception cref="ArgumentException">What is wrong with <paramref name="envelopes"/>.</exception>
    public static void CheckSubmission(string submissionId, IReadOnlyList<MessageEnvelope> envelopes)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        if (envelopes.Count == 0)
            throw new ArgumentException("a submission has at least one envelope", nameof(envelopes));
        foreach (var envelope in envelopes)
            if (envelope.SubmissionId != submissionId)
                throw new ArgumentException($"envelope {envelope.Id} does not belong to submission {submissionId}", nameof(envelopes));
    }

    /// <summary>
    /// A submission's status from its row of counts (all its recipients, the delivered ones, the failed or cancelled
    /// ones): every recipient delivered is sent, every one failed or cancelled undeliverable, anything else queued; null
    /// when it has no recipient (unknown, another client's, or gone with retention).
    /// </summary>
    public static async Task<SubmissionStatus?> ReadSubmissionStatusAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var (total, delivered, undeliverable) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        if (total == 0)
            return null;
        return delivered == total ? SubmissionStatus.Sent
            : undeliverable == total ? SubmissionStatus.Undeliverable
            : SubmissionStatus.Queued;
    }

    /// <summary>Attempts selected as a.delivery_id, a.started, a.ended, a.remote_host, a.code, a.enhanced, a.text.</summary>
    public static async Task<IReadOnlyList<AttemptView>> ReadAttemptsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var result = new List<AttemptView>();
        while (await reader.ReadAsync(cancellationToken))
            result.Add(new AttemptView(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                reader.IsDBNull(2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                NullableString(reader, 3), reader.IsDBNull(4) ? null : reader.GetInt32(4), NullableString(reader, 5), NullableString(reader, 6)));
        return result;
    }

    /// <summary>Events selected as e.id, e.message_id, e.delivery_id, the recipient, e.type, e.at, e.detail, the message's tenant.</summary>
    public static async Task<IReadOnlyList<DeliveryEvent>> ReadEventsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var result = new List<DeliveryEvent>();
        while (await reader.ReadAsync(cancellationToken))
            result.Add(new DeliveryEvent(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2), NullableString(reader, 3),
                reader.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)), NullableString(reader, 6), NullableString(reader, 7)));
        return result;
    }
}
