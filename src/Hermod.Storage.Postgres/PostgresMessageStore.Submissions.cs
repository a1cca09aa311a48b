using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;

namespace Hermod.Storage.Postgres;

/// <summary>Mini-MailGun submissions: one row per request (its id unique across the cluster), its envelopes are messages with <c>submission_id</c> set.</summary>
public sealed partial class PostgresMessageStore : ISubmissionStore
{
    public async Task AcceptSubmissionAsync(string submissionId, string clientId, IReadOnlyList<MessageEnvelope> envelopes, string headerPrefix,
        IBlobWriter body, CancellationToken cancellationToken, ReplacedHeader? header = null)
    {
        MessageRows.CheckSubmission(submissionId, envelopes);
        var blob = (PostgresBlobWriter)body;
        var now = Now;
        await _writer.EnqueueAsync(new SubmissionOp(submissionId, clientId, [.. envelopes.Select(e => new Accepted(e, headerPrefix, header, null, now))], blob));
        blob.Accepted = true;
        Signal.Set();
        EventsWritten.Set();
    }

    public Task<SubmissionStatus?> GetSubmissionStatusAsync(string submissionId, string clientId, CancellationToken cancellationToken) =>
        UseConnectionAsync(async connection =>
        {
            await using var command = Commands.Create(connection, """
                SELECT count(d.id),
                       count(*) FILTER (WHERE d.state = 'delivered'),
                       count(*) FILTER (WHERE d.state IN ('failed', 'cancelled'))
                FROM submissions s
                JOIN messages m ON m.submission_id = s.id
                JOIN deliveries d ON d.message_id = m.id
                WHERE s.id = $1 AND s.client_id = $2
                """, [submissionId, clientId]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await MessageRows.ReadSubmissionStatusAsync(reader, cancellationToken);
        }, cancellationToken);

    /// <summary>The submission row and all its envelopes in one commit; the envelopes share the body's blob, each adding a reference.</summary>
    private sealed class SubmissionOp(string submissionId, string clientId, IReadOnlyList<Accepted> envelopes, PostgresBlobWriter blob) : WriteOp
    {
        public override async Task ExecuteAsync(WriteContext db)
        {
            var now = envelopes[0].Now;
            db.Queue("INSERT INTO submissions (id, client_id, created) VALUES ($1, $2, $3)", submissionId, clientId, now);
            await InsertMessageAsync(db, envelopes[0], blob);
            foreach (var envelope in envelopes.Skip(1)) // the first's blob, one more reference
                InsertMessage(db, envelope, blob, "b AS (UPDATE blobs SET refcount = refcount + 1 WHERE id = (SELECT blob_id FROM messages WHERE id = $20) RETURNING id)",
                    envelopes[0].Envelope.Id);
        }
    }
}
