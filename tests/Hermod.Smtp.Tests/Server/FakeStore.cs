using System.Collections.Concurrent;
using Hermod.Core.Storage;
using Hermod.TestKit;

namespace Hermod.Smtp.Tests.Server;

/// <summary>A message as <see cref="FakeStore"/> was given it: the envelope, the header prefix and the body bytes as they were staged.</summary>
internal sealed record AcceptedMessage(MessageEnvelope Envelope, string HeaderPrefix, byte[] Body, ReplacedHeader? Header, CutThroughAttempt? CutThrough);

/// <summary>
/// A message store in memory for the session tests: it keeps what was accepted and the blobs it handed out (to see
/// that an abandoned body is let go), and fails <see cref="IMessageStore.AcceptAsync"/> when told to. The session
/// never reads the store back; those members are not implemented.
/// </summary>
internal sealed class FakeStore : IMessageStore
{
    private readonly ConcurrentQueue<AcceptedMessage> _accepted = new();
    private readonly ConcurrentQueue<MemoryBlob> _blobs = new();

    /// <summary>What was accepted, in order.</summary>
    public IReadOnlyList<AcceptedMessage> Accepted => [.. _accepted];

    /// <summary>Blobs handed out and not disposed yet.</summary>
    public int OpenBlobs => _blobs.Count(b => !b.Disposed);

    /// <summary>Thrown by the next <see cref="IMessageStore.AcceptAsync"/> calls while set.</summary>
    public Exception? Failure { get; set; }

    public IBlobWriter CreateBlobWriter()
    {
        var blob = new MemoryBlob();
        _blobs.Enqueue(blob);
        return blob;
    }

    public async Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, CancellationToken cancellationToken,
        ReplacedHeader? header = null, CutThroughAttempt? cutThrough = null)
    {
        if (Failure is { } failure)
            throw failure;
        await using var content = await body.OpenReadAsync(cancellationToken);
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, cancellationToken);
        _accepted.Enqueue(new AcceptedMessage(envelope, headerPrefix, copy.ToArray(), header, cutThrough));
    }

    public Task<IReadOnlyList<StoredMessage>> ListAsync(DeliveryState? state, int limit, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<StoredMessage?> GetAsync(string id, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<bool> CopyContentAsync(string id, Stream destination, CancellationToken cancellationToken) => throw new NotSupportedException();
}
