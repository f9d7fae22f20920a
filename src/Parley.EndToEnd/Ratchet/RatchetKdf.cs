// The three KDFs of the Double Ratchet (rev 4 §5.2), over raw spans, so the typed keys and the
// test vectors share one definition:
//   KDF_RK(rk, dh_out) = HKDF-SHA256(salt = rk, IKM = dh_out, info = "Parley_E2E_Ratchet_v1", L = 64) → rk' || ck
//   KDF_CK(ck): mk = HMAC-SHA256(ck, 0x01), ck' = HMAC-SHA256(ck, 0x02)
//   ENCRYPT's keys: HKDF-SHA256(salt = 32 zero bytes, IKM = mk, info = "Parley_E2E_MessageKeys_v1", L = 44) → AES-256-GCM key (32) || nonce (12)
// The initial root key is HKDF-Expand(SK, "Parley_E2E_InitialRootKey_v1", 32), so SK itself never leaves its type.
using System.Security.Cryptography;

namespace Parley.EndToEnd.Ratchet;

internal static class RatchetKdf
{
    public const int KeySize = 32;
    public const int AeadKeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;

    public static ReadOnlySpan<byte> RootInfo => "Parley_E2E_Ratchet_v1"u8;
    public static ReadOnlySpan<byte> MessageKeyInfo => "Parley_E2E_MessageKeys_v1"u8;
    public static ReadOnlySpan<byte> InitialRootKeyInfo => "Parley_E2E_InitialRootKey_v1"u8;

    private static ReadOnlySpan<byte> MessageKeyConstant => [0x01];
    private static ReadOnlySpan<byte> ChainKeyConstant => [0x02];

    public static void RootStep(ReadOnlySpan<byte> rootKey, ReadOnlySpan<byte> dhOutput, Span<byte> nextRootKey, Span<byte> chainKey)
    {
        Span<byte> output = stackalloc byte[2 * KeySize];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, dhOutput, output, rootKey, RootInfo);
            output[..KeySize].CopyTo(nextRootKey);
            output[KeySize..].CopyTo(chainKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(output);
        }
    }

    public static void ChainStep(ReadOnlySpan<byte> chainKey, Span<byte> messageKey, Span<byte> nextChainKey)
    {
        HMACSHA256.HashData(chainKey, MessageKeyConstant, messageKey);
        HMACSHA256.HashData(chainKey, ChainKeyConstant, nextChainKey);
    }

    public static void MessageKeyMaterial(ReadOnlySpan<byte> messageKey, Span<byte> aeadKey, Span<byte> nonce)
    {
        Span<byte> output = stackalloc byte[AeadKeySize + NonceSize];
        Span<byte> salt = stackalloc byte[KeySize];
        salt.Clear();
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, messageKey, output, salt, MessageKeyInfo);
            output[..AeadKeySize].CopyTo(aeadKey);
            output[AeadKeySize..].CopyTo(nonce);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(output);
        }
    }
}
