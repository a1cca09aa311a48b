using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Hermod.Policy.Dkim;

/// <summary>
/// Ed25519 (RFC 8032, PureEdDSA) through OpenSSL's libcrypto: .NET has no public Ed25519 API. The library is loaded
/// on first use ("libcrypto.so.3", then "libcrypto"); its entry points are called through function pointers so that
/// no assembly-wide DllImport resolver is needed. Keys are 32-byte raw seeds and public keys.
/// </summary>
internal static unsafe class Ed25519OpenSsl
{
    public const int KeySize = 32;
    public const int SignatureSize = 64;
    private const int EvpPkeyEd25519 = 1087; // NID_ED25519

    private static readonly Lazy<Api> Functions = new(Api.Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when libcrypto with the EVP raw-key API could be loaded.</summary>
    public static bool IsSupported
    {
        get
        {
            try
            {
                _ = Functions.Value;
                return true;
            }
            catch (PlatformNotSupportedException)
            {
                return false;
            }
        }
    }

    /// <summary>The public key of a 32-byte private seed.</summary>
    public static byte[] PublicKeyOf(ReadOnlySpan<byte> seed)
    {
        using var key = PrivateKey(seed);
        var api = Functions.Value;
        var publicKey = new byte[KeySize];
        nuint length = KeySize;
        var added = false;
        key.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = publicKey)
            {
                if (api.GetRawPublicKey(key.DangerousGetHandle(), p, &length) != 1 || length != KeySize)
                    throw new CryptographicException("EVP_PKEY_get_raw_public_key failed");
            }
        }
        finally
        {
            if (added)
                key.DangerousRelease();
        }
        return publicKey;
    }

    /// <summary>A new random private seed (every 32-byte string is a valid Ed25519 private key).</summary>
    public static byte[] GenerateSeed() => RandomNumberGenerator.GetBytes(KeySize);

    /// <summary>Signs <paramref name="data"/> (PureEdDSA: the message itself, no prehash) with the key of <paramref name="seed"/>.</summary>
    public static byte[] Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> data)
    {
        using var key = PrivateKey(seed);
        using var context = NewContext();
        var api = Functions.Value;
        var signature = new byte[SignatureSize];
        nuint length = SignatureSize;
        var keyAdded = false;
        var contextAdded = false;
        key.DangerousAddRef(ref keyAdded);
        context.DangerousAddRef(ref contextAdded);
        try
        {
            if (api.DigestSignInit(context.DangerousGetHandle(), IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, key.DangerousGetHandle()) != 1)
                throw new CryptographicException("EVP_DigestSignInit (Ed25519) failed");
            fixed (byte* s = signature)
            fixed (byte* d = data)
            {
                if (api.DigestSign(context.DangerousGetHandle(), s, &length, d, (nuint)data.Length) != 1 || length != SignatureSize)
                    throw new CryptographicException("EVP_DigestSign (Ed25519) failed");
            }
        }
        finally
        {
            if (contextAdded)
                context.DangerousRelease();
            if (keyAdded)
                key.DangerousRelease();
        }
        return signature;
    }

    /// <summary>True when <paramref name="signature"/> is a valid signature of <paramref name="data"/> by <paramref name="publicKey"/>.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != KeySize || signature.Length != SignatureSize)
            return false;
        var api = Functions.Value;
        using var key = NewKey(publicKey, isPrivate: false);
        using var context = NewContext();
        var keyAdded = false;
        var contextAdded = false;
        key.DangerousAddRef(ref keyAdded);
        context.DangerousAddRef(ref contextAdded);
        try
        {
            if (api.DigestVerifyInit(context.DangerousGetHandle(), IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, key.DangerousGetHandle()) != 1)
                throw new CryptographicException("EVP_DigestVerifyInit (Ed25519) failed");
            fixed (byte* s = signature)
            fixed (byte* d = data)
            {
                return api.DigestVerify(context.DangerousGetHandle(), s, (nuint)signature.Length, d, (nuint)data.Length) == 1;
            }
        }
        finally
        {
            if (contextAdded)
                context.DangerousRelease();
            if (keyAdded)
                key.DangerousRelease();
        }
    }

    private static PKeyHandle PrivateKey(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != KeySize)
            throw new CryptographicException($"an Ed25519 private key is {KeySize} bytes, not {seed.Length}");
        return NewKey(seed, isPrivate: true);
    }

    private static PKeyHandle NewKey(ReadOnlySpan<byte> raw, bool isPrivate)
    {
        var api = Functions.Value;
        IntPtr pointer;
        fixed (byte* k = raw)
        {
            pointer = isPrivate
                ? api.NewRawPrivateKey(EvpPkeyEd25519, IntPtr.Zero, k, (nuint)raw.Length)
                : api.NewRawPublicKey(EvpPkeyEd25519, IntPtr.Zero, k, (nuint)raw.Length);
        }
        if (pointer == IntPtr.Zero)
            throw new CryptographicException(isPrivate ? "EVP_PKEY_new_raw_private_key (Ed25519) failed" : "EVP_PKEY_new_raw_public_key (Ed25519) failed");
        return new PKeyHandle(pointer);
    }

    private static MdContextHandle NewContext()
    {
        var pointer = Functions.Value.MdCtxNew();
        if (pointer == IntPtr.Zero)
            throw new CryptographicException("EVP_MD_CTX_new failed");
        return new MdContextHandle(pointer);
    }

    private sealed class PKeyHandle : SafeHandle
    {
        public PKeyHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle()
        {
            Functions.Value.PkeyFree(handle);
            return true;
        }
    }

    private sealed class MdContextHandle : SafeHandle
    {
        public MdContextHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle()
        {
            Functions.Value.MdCtxFree(handle);
            return true;
        }
    }

    /// <summary>The libcrypto entry points in use. The library handle is kept for the life of the process.</summary>
    private sealed class Api
    {
        public delegate* unmanaged<int, IntPtr, byte*, nuint, IntPtr> NewRawPrivateKey;
        public delegate* unmanaged<int, IntPtr, byte*, nuint, IntPtr> NewRawPublicKey;
        public delegate* unmanaged<IntPtr, byte*, nuint*, int> GetRawPublicKey;
        public delegate* unmanaged<IntPtr, void> PkeyFree;
        public delegate* unmanaged<IntPtr> MdCtxNew;
        public delegate* unmanaged<IntPtr, void> MdCtxFree;
        public delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int> DigestSignInit;
        public delegate* unmanaged<IntPtr, byte*, nuint*, byte*, nuint, int> DigestSign;
        public delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int> DigestVerifyInit;
        public delegate* unmanaged<IntPtr, byte*, nuint, byte*, nuint, int> DigestVerify;

        public static Api Load()
        {
            if (!NativeLibrary.TryLoad("libcrypto.so.3", out var library) && !NativeLibrary.TryLoad("libcrypto", out library))
                throw new PlatformNotSupportedException("Ed25519 needs OpenSSL 3's libcrypto (libcrypto.so.3, Debian package libssl3), which could not be loaded");
            return new Api
            {
                NewRawPrivateKey = (delegate* unmanaged<int, IntPtr, byte*, nuint, IntPtr>)Export(library, "EVP_PKEY_new_raw_private_key"),
                NewRawPublicKey = (delegate* unmanaged<int, IntPtr, byte*, nuint, IntPtr>)Export(library, "EVP_PKEY_new_raw_public_key"),
                GetRawPublicKey = (delegate* unmanaged<IntPtr, byte*, nuint*, int>)Export(library, "EVP_PKEY_get_raw_public_key"),
                PkeyFree = (delegate* unmanaged<IntPtr, void>)Export(library, "EVP_PKEY_free"),
                MdCtxNew = (delegate* unmanaged<IntPtr>)Export(library, "EVP_MD_CTX_new"),
                MdCtxFree = (delegate* unmanaged<IntPtr, void>)Export(library, "EVP_MD_CTX_free"),
                DigestSignInit = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int>)Export(library, "EVP_DigestSignInit"),
                DigestSign = (delegate* unmanaged<IntPtr, byte*, nuint*, byte*, nuint, int>)Export(library, "EVP_DigestSign"),
                DigestVerifyInit = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int>)Export(library, "EVP_DigestVerifyInit"),
                DigestVerify = (delegate* unmanaged<IntPtr, byte*, nuint, byte*, nuint, int>)Export(library, "EVP_DigestVerify"),
            };
        }

        private static IntPtr Export(IntPtr library, string name) =>
            NativeLibrary.TryGetExport(library, name, out var address)
                ? address
                : throw new PlatformNotSupportedException($"libcrypto has no {name}: OpenSSL 1.1.1 or later is needed for Ed25519");
    }
}
