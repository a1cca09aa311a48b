using System.Security.Cryptography;

namespace Hermod.Policy.Dkim;

/// <summary>The kind of key <see cref="DkimKeys.Generate"/> makes.</summary>
public enum DkimKeyAlgorithm
{
    Rsa2048,
    Ed25519,
}

/// <summary>A key written by <see cref="DkimKeys.Generate"/>: the private key file and the TXT record to publish.</summary>
public sealed record DkimGeneratedKey(string PrivateKeyPath, string RecordName, string RecordText);

/// <summary>DKIM key generation (<c>hermod dkim keygen</c>).</summary>
public static class DkimKeys
{
    /// <summary>The a= name of an algorithm.</summary>
    public static string AlgorithmName(DkimAlgorithm algorithm) =>
        algorithm == DkimAlgorithm.Ed25519Sha256 ? "ed25519-sha256" : "rsa-sha256";

    /// <summary>Parses "rsa2048" / "rsa" or "ed25519" (case-insensitive).</summary>
    public static bool TryParseAlgorithm(string text, out DkimKeyAlgorithm algorithm)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "rsa" or "rsa2048" or "rsa-2048":
                algorithm = DkimKeyAlgorithm.Rsa2048;
                return true;
            case "ed25519":
                algorithm = DkimKeyAlgorithm.Ed25519;
                return true;
            default:
                algorithm = default;
                return false;
        }
    }

    /// <summary>
    /// Makes a new key, writes it as PKCS#8 PEM to <paramref name="directory"/>/&lt;domain&gt;.&lt;selector&gt;.pem (mode 0600;
    /// an existing file is never overwritten) and returns the DNS record to publish.
    /// </summary>
    public static DkimGeneratedKey Generate(DkimKeyAlgorithm algorithm, string domain, string selector, string directory)
    {
        using var key = Create(algorithm, domain, selector);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{key.Domain}.{key.Selector}.pem");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(new FileStream(path, options)))
            writer.Write(key.ExportPkcs8Pem() + "\n");
        return new DkimGeneratedKey(path, key.RecordName, key.RecordText);
    }

    /// <summary>A new key in memory.</summary>
    public static DkimSigningKey Create(DkimKeyAlgorithm algorithm, string domain, string selector) => algorithm switch
    {
        DkimKeyAlgorithm.Rsa2048 => DkimSigningKey.FromRsa(domain, selector, RSA.Create(2048)),
        DkimKeyAlgorithm.Ed25519 => DkimSigningKey.FromEd25519Seed(domain, selector, Ed25519OpenSsl.GenerateSeed()),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
