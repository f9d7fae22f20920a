using System.Runtime.InteropServices;

namespace Parley.Crypto.Interop;

/// <summary>Owns an OpenSSL EVP_PKEY*; OpenSSL clears the key material of raw keys on free.</summary>
internal sealed class EvpPkeyHandle : SafeHandle
{
    private EvpPkeyHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    internal EvpPkeyHandle(IntPtr pointer) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(pointer);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        LibCrypto.EVP_PKEY_free(handle);
        return true;
    }

    internal static unsafe EvpPkeyHandle FromRawPrivateKey(int nid, ReadOnlySpan<byte> key)
    {
        fixed (byte* p = key)
        {
            IntPtr pkey = LibCrypto.EVP_PKEY_new_raw_private_key(nid, IntPtr.Zero, p, (nuint)key.Length);
            LibCrypto.ThrowIfNull(pkey, "EVP_PKEY_new_raw_private_key");
            return new EvpPkeyHandle(pkey);
        }
    }

    /// <summary>Null when OpenSSL refuses the encoding (wrong length).</summary>
    internal static unsafe EvpPkeyHandle? FromRawPublicKey(int nid, ReadOnlySpan<byte> key)
    {
        fixed (byte* p = key)
        {
            IntPtr pkey = LibCrypto.EVP_PKEY_new_raw_public_key(nid, IntPtr.Zero, p, (nuint)key.Length);
            if (pkey == IntPtr.Zero)
            {
                LibCrypto.ERR_clear_error();
                return null;
            }
            return new EvpPkeyHandle(pkey);
        }
    }

    /// <summary>The raw private key (RFC 7748/8032 encoding); the caller must wipe it.</summary>
    internal unsafe byte[] GetRawPrivateKey(int length)
    {
        byte[] output = new byte[length];
        nuint written = (nuint)length;
        fixed (byte* p = output)
        {
            LibCrypto.ThrowIfFailed(LibCrypto.EVP_PKEY_get_raw_private_key(handle, p, &written), "EVP_PKEY_get_raw_private_key");
        }
        if (written != (nuint)length)
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(output);
            throw new System.Security.Cryptography.CryptographicException("libcrypto: unexpected private key length");
        }
        return output;
    }

    internal unsafe byte[] GetRawPublicKey(int length)
    {
        byte[] output = new byte[length];
        nuint written = (nuint)length;
        fixed (byte* p = output)
        {
            LibCrypto.ThrowIfFailed(LibCrypto.EVP_PKEY_get_raw_public_key(handle, p, &written), "EVP_PKEY_get_raw_public_key");
        }
        if (written != (nuint)length)
        {
            throw new System.Security.Cryptography.CryptographicException("libcrypto: unexpected public key length");
        }
        return output;
    }
}
