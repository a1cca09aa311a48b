using System.Security.Cryptography;
using System.Text;

namespace Hermod.Core.Storage.Tables;

/// <summary>API keys as the stores keep them: hmd_&lt;public id&gt;_&lt;secret&gt;; the id finds the row, only a SHA-256 of the secret is stored.</summary>
public static class ApiKeys
{
    private const string Prefix = "hmd_";

    /// <summary>A new key, its public id and the hash of its secret to store.</summary>
    public static (string Key, string Id, byte[] SecretHash) Create()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        return ($"{Prefix}{id}_{secret}", id, SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
    }

    /// <summary>The public id and secret of a well-formed key; false for anything else.</summary>
    public static bool TryParse(string key, out string id, out string secret)
    {
        (id, secret) = ("", "");
        ArgumentNullException.ThrowIfNull(key);
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length > 200)
            return false;
        var parts = key[Prefix.Length..].Split('_', 2);
        if (parts.Length != 2)
            return false;
        (id, secret) = (parts[0], parts[1]);
        return true;
    }

    /// <summary>Whether <paramref name="secret"/> is the one whose hash was stored (in constant time).</summary>
    public static bool Matches(byte[] storedHash, string secret) =>
        CryptographicOperations.FixedTimeEquals(storedHash, SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
