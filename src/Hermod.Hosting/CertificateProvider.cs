using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Hermod.Core.Configuration;
using Hermod.Hosting.Configuration;

namespace Hermod.Hosting;

/// <summary>The server certificate: the configured PEM pair, or a self-signed one made on first run under data_dir/tls.</summary>
internal static class CertificateProvider
{
    public static X509Certificate2 Load(HermodOptions options, TlsOptions tls)
    {
        if (tls.Certificate is { } certificate && tls.Key is { } key)
        {
            try
            {
                return X509Certificate2.CreateFromPemFile(certificate, key);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new ConfigException([$"tls.certificate / tls.key: cannot load '{certificate}' with '{key}': {e.Message}"]);
            }
        }

        var dir = Path.Combine(options.DataDir, "tls");
        var certPath = Path.Combine(dir, "self-signed.crt");
        var keyPath = Path.Combine(dir, "self-signed.key");
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            Directory.CreateDirectory(dir);
            using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={options.Hostname}", ecdsa, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(options.Hostname);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
            var now = DateTimeOffset.UtcNow;
            using var made = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(2));
            File.WriteAllText(keyPath, ecdsa.ExportPkcs8PrivateKeyPem(), System.Text.Encoding.ASCII);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.WriteAllText(certPath, made.ExportCertificatePem(), System.Text.Encoding.ASCII);
        }
        return X509Certificate2.CreateFromPemFile(certPath, keyPath);
    }
}
