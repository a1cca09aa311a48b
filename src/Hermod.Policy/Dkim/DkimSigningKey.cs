using System.Formats.Asn1;
using System.Security.Cryptography;

namespace Hermod.Policy.Dkim;

/// <summary>
/// The private key of one signing domain and selector. RSA keys come from PKCS#1 ("BEGIN RSA PRIVATE KEY") or PKCS#8
/// ("BEGIN PRIVATE KEY") PEM; Ed25519 keys from PKCS#8 PEM (what <c>openssl genpkey -algorithm ed25519</c> writes).
/// Thread-safe.
/// </summary>
public sealed class DkimSigningKey : IDisposable
{
    internal const string Ed25519Oid = "1.3.101.112";
    internal const int MinRsaBits = 1024;

    private readonly RSA? _rsa;
    private readonly byte[]? _ed25519Seed;
    private readonly Lock _lock = new();

    private DkimSigningKey(string domain, string selector, RSA? rsa, byte[]? ed25519Seed)
    {
        if (string.IsNullOrWhiteSpace(domain) || string.IsNullOrWhiteSpace(selector))
            throw new ArgumentException("a DKIM key needs a signing domain and a selector");
        Domain = domain.Trim().TrimEnd('.').ToLowerInvariant();
        Selector = selector.Trim();
        _rsa = rsa;
        _ed25519Seed = ed25519Seed;
        Algorithm = rsa is null ? DkimAlgorithm.Ed25519Sha256 : DkimAlgorithm.RsaSha256;
    }

    /// <summary>The signing domain (d=).</summary>
    public string Domain { get; }

    /// <summary>The selector (s=).</summary>
    public string Selector { get; }

    public DkimAlgorithm Algorithm { get; }

    /// <summary>The a= value: "rsa-sha256" or "ed25519-sha256".</summary>
    public string AlgorithmName => DkimKeys.AlgorithmName(Algorithm);

    /// <summary>Where the public key is published: selector._domainkey.domain.</summary>
    public string RecordName => $"{Selector}._domainkey.{Domain}";

    /// <summary>The TXT record to publish: "v=DKIM1; k=rsa; p=..." or "v=DKIM1; k=ed25519; p=...".</summary>
    public string RecordText => _rsa is not null
        ? "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(_rsa.ExportSubjectPublicKeyInfo())
        : "v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(Ed25519OpenSsl.PublicKeyOf(_ed25519Seed));

    /// <summary>Reads the PEM file at <paramref name="pemPath"/>.</summary>
    public static DkimSigningKey Load(string domain, string selector, string pemPath)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(pemPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CryptographicException($"cannot read the DKIM key {pemPath}: {e.Message}", e);
        }
        try
        {
            return FromPem(domain, selector, pem);
        }
        catch (CryptographicException e)
        {
            throw new CryptographicException($"{pemPath}: {e.Message}", e);
        }
    }

    /// <summary>Reads a private key from PEM text.</summary>
    public static DkimSigningKey FromPem(string domain, string selector, string pem)
    {
        var text = pem.AsSpan();
        while (PemEncoding.TryFind(text, out var fields))
        {
            var label = text[fields.Label];
            var data = text[fields.Base64Data];
            text = text[fields.Location.End..];
            if (label.SequenceEqual("RSA PRIVATE KEY"))
            {
                var rsa = RSA.Create();
                rsa.ImportRSAPrivateKey(Convert.FromBase64String(data.ToString()), out _);
                return Rsa(domain, selector, rsa);
            }
            if (label.SequenceEqual("PRIVATE KEY"))
                return FromPkcs8(domain, selector, Convert.FromBase64String(data.ToString()));
        }
        throw new CryptographicException("no \"BEGIN PRIVATE KEY\" or \"BEGIN RSA PRIVATE KEY\" block found");
    }

    /// <summary>An Ed25519 key from its raw 32-byte private seed.</summary>
    public static DkimSigningKey FromEd25519Seed(string domain, string selector, ReadOnlySpan<byte> seed)
    {
        if (seed.Length != Ed25519OpenSsl.KeySize)
            throw new CryptographicException($"an Ed25519 private key is {Ed25519OpenSsl.KeySize} bytes, not {seed.Length}");
        return new DkimSigningKey(domain, selector, null, seed.ToArray());
    }

    /// <summary>A key around an RSA object (taken over: disposed with this key).</summary>
    public static DkimSigningKey FromRsa(string domain, string selector, RSA rsa) => Rsa(domain, selector, rsa);

    private static DkimSigningKey FromPkcs8(string domain, string selector, byte[] der)
    {
        string oid;
        byte[] privateKey;
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            var info = reader.ReadSequence();
            _ = info.ReadInteger();
            var algorithm = info.ReadSequence();
            oid = algorithm.ReadObjectIdentifier();
            privateKey = info.ReadOctetString();
        }
        catch (AsnContentException e)
        {
            throw new CryptographicException("the PKCS#8 private key is not valid DER", e);
        }
        if (oid == Ed25519Oid)
        {
            try
            {
                var seed = new AsnReader(privateKey, AsnEncodingRules.DER).ReadOctetString();
                return FromEd25519Seed(domain, selector, seed);
            }
            catch (AsnContentException e)
            {
                throw new CryptographicException("the Ed25519 private key is not valid DER", e);
            }
        }
        var rsa = RSA.Create();
        try
        {
            rsa.ImportPkcs8PrivateKey(der, out _);
        }
        catch (CryptographicException e)
        {
            rsa.Dispose();
            throw new CryptographicException($"the PKCS#8 key is neither RSA nor Ed25519 (algorithm {oid})", e);
        }
        return Rsa(domain, selector, rsa);
    }

    private static DkimSigningKey Rsa(string domain, string selector, RSA rsa)
    {
        if (rsa.KeySize < MinRsaBits)
        {
            var bits = rsa.KeySize;
            rsa.Dispose();
            throw new CryptographicException($"the RSA key has {bits} bits: DKIM needs at least {MinRsaBits} (RFC 8301)");
        }
        return new DkimSigningKey(domain, selector, rsa, null);
    }

    /// <summary>The signature of the canonical header data (RSA PKCS#1 v1.5 over SHA-256; Ed25519 over its SHA-256 hash).</summary>
    internal byte[] Sign(byte[] headerData)
    {
        if (_rsa is not null)
        {
            lock (_lock)
                return _rsa.SignData(headerData, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        return Ed25519OpenSsl.Sign(_ed25519Seed, SHA256.HashData(headerData));
    }

    /// <summary>The private key as PKCS#8 PEM.</summary>
    internal string ExportPkcs8Pem()
    {
        if (_rsa is not null)
            return _rsa.ExportPkcs8PrivateKeyPem();
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            using (writer.PushSequence())
                writer.WriteObjectIdentifier(Ed25519Oid);
            var inner = new AsnWriter(AsnEncodingRules.DER);
            inner.WriteOctetString(_ed25519Seed);
            writer.WriteOctetString(inner.Encode());
        }
        return PemEncoding.WriteString("PRIVATE KEY", writer.Encode());
    }

    public void Dispose()
    {
        _rsa?.Dispose();
        if (_ed25519Seed is not null)
            CryptographicOperations.ZeroMemory(_ed25519Seed);
    }
}
