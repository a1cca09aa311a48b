using System.Text;

namespace Hermod.Policy.Tests.Dkim;

internal static class DkimSamples
{
    public const string Message =
        "From: Alice Example <alice@example.org>\r\n" +
        "To: bob@example.net\r\n" +
        "Subject: Hello   there\r\n" +
        "\tfolded subject\r\n" +
        "Date: Sat, 22 Nov 2025 12:00:00 +0000\r\n" +
        "Message-ID: <1234@example.org>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "\r\n" +
        "Hi Bob,  \r\n" +
        "\r\n" +
        "this is\ta test.\r\n" +
        "\r\n" +
        "\r\n";

    public static Stream Stream(string message) => new MemoryStream(Encoding.Latin1.GetBytes(message));

    /// <summary>A stream that hands out at most <paramref name="chunk"/> bytes per read.</summary>
    public static Stream Trickle(string message, int chunk) => new TrickleStream(Encoding.Latin1.GetBytes(message), chunk);

    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, chunk), cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}
