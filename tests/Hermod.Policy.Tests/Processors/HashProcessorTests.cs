using Hermod.Core.Pipeline;
using Hermod.Policy.Processors;
using Hermod.TestKit;

namespace Hermod.Policy.Tests.Processors;

/// <summary>The hash processor's content hash, message after message (its SHA-256 contexts are reused).</summary>
public sealed class HashProcessorTests
{
    private static readonly BodyContext Context = new("ID1", "mx.example.test", "client.test", System.Net.IPAddress.Loopback, "ESMTP", null,
        ["u@example.test"], new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Each_message_gets_the_sha256_of_its_own_body_also_when_a_context_is_reused_or_a_message_is_left_unfinished()
    {
        var processor = new HashProcessor();
        var bodies = new[] { "Subject: a\r\n\r\nfirst\r\n", "Subject: b\r\n\r\nsecond, longer\r\n", "Subject: a\r\n\r\nfirst\r\n" };
        processor.Begin(Context, new MemoryBlob()).Observe("never finished"u8); // refused half-way: its context is not returned
        for (var i = 0; i < bodies.Length; i++)
        {
            var blob = new MemoryBlob();
            var filter = processor.Begin(Context, blob);
            var bytes = System.Text.Encoding.ASCII.GetBytes(bodies[i]);
            filter.Observe(bytes.AsSpan(0, 5)); // in two pieces
            filter.Observe(bytes.AsSpan(5));
            Assert.Null(filter.Complete(blob));
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(bytes), blob.ContentHash);
        }
    }
}
