namespace Hermod.Hosting.Configuration;

/// <summary>The server certificate (tls:): a PEM certificate and key; neither: a self-signed one made on first run.</summary>
public sealed class TlsOptions
{
    public string? Certificate { get; set; }
    public string? Key { get; set; }
}
