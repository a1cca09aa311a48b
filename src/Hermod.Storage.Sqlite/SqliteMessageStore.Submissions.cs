using Hermod.Core.Storage;
using Hermod.Core.Storage.Tables;

namespace Hermod.Storage.Sqlite;

/// <summary>Mini-MailGun submissions: one row per request, its envelopes are messages with <c>submission_id</c> set.</summary>
public sealed partial class SqliteMessageStore : ISubmissionStore
{
    public async Task AcceptSubmissionAsync(string submissionId, string clientId, IReadOnlyList<MessageEnvelope> envelopes, string headerPrefix,
        IBlobWriter body, CancellationToken cancellationToken, ReplacedHeader? header = null)
    {
        MessageRows.CheckSubmission(submissionId, envelopes);
        var blob = (SqliteBlobWriter)body;
        var chunk = await ChunkData.TakeAsync(blob, _segments, last: true);
        await _writer.EnqueueAsync(new SubmissionOp(submissionId, clientId, envelopes, headerPrefix, header, blob, chunk, Now));
        blob.Accepted = true;
        Signal.Set();
    }

    public async Task<SubmissionStatus?> GetSubmissionStatusAsync(string submissionId, string clientId, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT count(d.id),
                   coalesce(sum(d.state = 'delivered'), 0),
                   coalesce(sum(d.state IN ('failed', 'cancelled')), 0)
            FROM submissions s
            JOIN messages m ON m.submission_id = s.id
            JOIN deliveries d ON d.message_id = m.id
            WHERE s.id = $id AND s.client_id = $client
            """;
        command.Parameters.AddWithValue("$id", submissionId);
        command.Parameters.AddWithValue("$client", clientId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await MessageRows.ReadSubmissionStatusAsync(reader, cancellationToken);
    }

    /// <summary>
    /// The submission row and all its envelopes in one savepoint of one commit. Each envelope is accepted as
    /// <see cref="AcceptOp"/> accepts a message, and they share the body's blob: the first stores it (or finds an equal
    /// one), every further envelope adds a reference to that blob — by its id, since a body nobody hashed has no
    /// content address to be found by.
    /// </summary>
    private sealed class SubmissionOp(string submissionId, string clientId, IReadOnlyList<MessageEnvelope> envelopes, string headerPrefix,
        ReplacedHeader? header, SqliteBlobWriter blob, ChunkData chunk, long now) : WriteOp
    {
        public override void Execute(WriteContext db)
        {
            db.Exec("INSERT INTO submissions (id, client_id, created) VALUES ($p0, $p1, $p2)", submissionId, clientId, now);
            var stagingId = blob.StagingId;
            try
            {
                long? shared = null;
                foreach (var envelope in envelopes)
                {
                    var accept = new AcceptOp(envelope, headerPrefix, header, blob, chunk, now, shared: shared);
                    accept.Execute(db);
                    shared = accept.BlobId;
                    // The staged chunks (if any) became the blob or were dropped for an equal one: further envelopes
                    // add a reference to it, never treat the staging row again.
                    blob.StagingId = 0;
                }
            }
            finally
            {
                blob.StagingId = stagingId; // should the commit fail, disposing the writer drops the staged chunks
            }
        }

        public override void Release() => chunk.Release();
    }
}
