namespace Hermod.Policy.Dkim;

/// <summary>A DKIM signing algorithm.</summary>
public enum DkimAlgorithm
{
    /// <summary>rsa-sha256 (RFC 6376).</summary>
    RsaSha256,

    /// <summary>ed25519-sha256 (RFC 8463).</summary>
    Ed25519Sha256,
}
