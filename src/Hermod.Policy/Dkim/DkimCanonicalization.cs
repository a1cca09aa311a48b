namespace Hermod.Policy.Dkim;

/// <summary>A DKIM canonicalization algorithm (RFC 6376 section 3.4).</summary>
public enum DkimCanonicalization
{
    /// <summary>Byte for byte (headers), trailing empty lines removed (body).</summary>
    Simple,

    /// <summary>Whitespace runs folded to one space, header names lower-cased, headers unfolded.</summary>
    Relaxed,
}
