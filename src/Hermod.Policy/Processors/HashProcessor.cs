using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Policy.Processors;

/// <summary>hash: the SHA-256 of the bytes as stored becomes the blob's content address, so identical bodies are stored once.</summary>
public sealed class HashProcessor : IStreamProcessor
{
    private const int MaxSpare = 64;

    // Contexts of finished messages, reset and reused: making one costs more than hashing a small message.
    private readonly ConcurrentQueue<IncrementalHash> _spare = new();

    public string Name => "hash";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob) =>
        new Filter(this, blob, _spare.TryDequeue(out var hash) ? hash : IncrementalHash.CreateHash(HashAlgorithmName.SHA256));

    private void Return(IncrementalHash hash)
    {
        if (_spare.Count < MaxSpare)
            _spare.Enqueue(hash);
        else
            hash.Dispose();
    }

    private sealed class Filter(HashProcessor owner, IBlobWriter blob, IncrementalHash hash) : IBodyFilter
    {
        public bool PrefixKnownAtStart => true;

        public bool PassesThrough => true;

        public void Observe(ReadOnlySpan<byte> data) => hash.AppendData(data);

        public SmtpReply? Complete(IBufferWriter<byte> next)
        {
            blob.ContentHash = hash.GetHashAndReset(); // reset: ready for the next message
            owner.Return(hash);
            return null;
        }
    }
}
