using System.Security.Cryptography;

namespace Hermod.Core.Storage;

/// <summary>Queue ids: 48 bits of Unix milliseconds then 52 random bits in Crockford base32 — 20 characters, sortable by time.</summary>
public static class QueueId
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(TimeProvider time)
    {
        var ms = (ulong)time.GetUtcNow().ToUnixTimeMilliseconds() & ((1UL << 48) - 1);
        var random = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) & ((1UL << 52) - 1);
        var value = ((UInt128)ms << 52) | random;
        Span<char> chars = stackalloc char[20];
        for (var i = 19; i >= 0; i--, value >>= 5)
            chars[i] = Alphabet[(int)(value & 31)];
        return new string(chars);
    }
}
