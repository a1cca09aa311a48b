using Hermod.Core.Diagnostics;
using Hermod.Core.Storage;

namespace Hermod.TestKit.Storage;

/// <summary>
/// What the storage contract tests need of a provider: a store of their own (a fresh data directory or database per
/// test) and a look at its rows. Both providers keep the same tables and columns (messages, deliveries, attempts,
/// events, blobs, blob_chunks, submissions, idempotency), so the tests count rows with the same SQL on either.
/// </summary>
public abstract class StoreHarness<TStore> : IAsyncDisposable
    where TStore : IMessageStore, IDeliveryQueue, ISubmissionStore, IRetentionStore, IApiStore, IClusterRoles, IAsyncDisposable
{
    /// <summary>Body bytes per chunk in the stores the tests open (small: a few kilobytes make several chunks).</summary>
    public const int ChunkSize = 4096;

    /// <summary>Makes the test's data directory or database.</summary>
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <summary>
    /// Opens the store on the test's data, as a server does (taking up the work an earlier run left unfinished): a
    /// second call after the first store was disposed is a restart.
    /// </summary>
    /// <param name="chunkSize">Body bytes per chunk: <see cref="ChunkSize"/>, or the providers' default (<see cref="DefaultChunkSize"/>) for a body too large for small chunks.</param>
    public abstract TStore Open(TimeProvider time, HermodMetrics metrics, int chunkSize = ChunkSize);

    /// <summary>What both providers take for storage.*.chunk_size when it is not configured.</summary>
    public const int DefaultChunkSize = 256 * 1024;

    /// <summary>One number from the test's data: <paramref name="sql"/> with parameters $p0, $p1, ... set to <paramref name="values"/>.</summary>
    public abstract Task<long> CountAsync(string sql, params object[] values);

    /// <summary>What a write that the database refused (a key taken) throws.</summary>
    public abstract Type RefusedWrite { get; }

    public abstract ValueTask DisposeAsync();
}
