// The KDF of Signal's X3DH (rev. 1, §2.2) and PQXDH (rev. 3, §2.2) over X25519 and SHA-256:
//   SK = HKDF-SHA256(salt = 32 zero bytes, IKM = F || KM, info, L = 32)
// F is 32 0xFF bytes, which the specs require for X25519 as domain separation from XEdDSA;
// KM = DH1 || DH2 || DH3 [|| DH4] [|| SS], the X25519 outputs in protocol order, then the ML-KEM
// secret in PQXDH. The concatenation lives on the stack and is wiped before returning.
using System.Security.Cryptography;
using Parley.Crypto.Kem;
using Parley.Crypto.KeyAgreement;

namespace Parley.Crypto.Kdf;

public static class PqxdhKdf
{
    /// <summary>Length of SK in bytes.</summary>
    public const int OutputSize = 32;

    /// <summary>X3DH and PQXDH combine DH1..DH3, plus DH4 when a one-time prekey was used.</summary>
    public const int MinDiffieHellmanSecrets = 3;
    public const int MaxDiffieHellmanSecrets = 4;

    /// <summary>Every input secret is an X25519 output; F and the salt are sized for it.</summary>
    public const int SecretSize = 32;

    /// <summary>Longest F || KM: F, four DH outputs and one ML-KEM secret.</summary>
    internal const int MaxInputKeyingMaterialSize = SecretSize * (1 + MaxDiffieHellmanSecrets + 1);

    private const string X25519 = "x25519";

    /// <summary>
    /// Parley's info string for PQXDH, named as the spec asks (application, curve, hash, KEM).
    /// Issue 9's protocol passes it; other protocols pass their own.
    /// </summary>
    public static ReadOnlySpan<byte> ParleyPqxdhInfo => "Parley_PQXDH_CURVE25519_SHA-256_ML-KEM-768"u8;

    /// <summary>X3DH: SK from three or four X25519 outputs, in protocol order.</summary>
    public static PseudoRandomKey DeriveX3dh(ReadOnlySpan<byte> info, IReadOnlyList<SharedSecret> diffieHellman) =>
        Derive(info, diffieHellman, kemSecret: null);

    /// <summary>PQXDH: SK from three or four X25519 outputs and the ML-KEM shared secret.</summary>
    public static PseudoRandomKey DerivePqxdh(ReadOnlySpan<byte> info, IReadOnlyList<SharedSecret> diffieHellman, MlKemSharedSecret kemSecret)
    {
        ArgumentNullException.ThrowIfNull(kemSecret);
        return Derive(info, diffieHellman, kemSecret);
    }

    private static PseudoRandomKey Derive(ReadOnlySpan<byte> info, IReadOnlyList<SharedSecret> diffieHellman, MlKemSharedSecret? kemSecret)
    {
        Span<byte> inputKeyingMaterial = stackalloc byte[MaxInputKeyingMaterialSize];
        Span<byte> output = stackalloc byte[OutputSize];
        try
        {
            DeriveCore(info, diffieHellman, kemSecret, inputKeyingMaterial, output);
            return PseudoRandomKey.FromUniformSecret(output);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(output);
        }
    }

    /// <summary>
    /// The KDF with the caller's scratch buffer for F || KM, which is wiped on every path (a seam
    /// for the test that proves it). <paramref name="scratch"/> must hold at least
    /// <see cref="MaxInputKeyingMaterialSize"/> bytes.
    /// </summary>
    internal static void DeriveCore(ReadOnlySpan<byte> info, IReadOnlyList<SharedSecret> diffieHellman, MlKemSharedSecret? kemSecret, Span<byte> scratch, Span<byte> output)
    {
        ArgumentNullException.ThrowIfNull(diffieHellman);
        if (info.IsEmpty)
        {
            throw new ArgumentException("The info string must identify the protocol (X3DH §2.1); it may not be empty.", nameof(info));
        }
        if (diffieHellman.Count is < MinDiffieHellmanSecrets or > MaxDiffieHellmanSecrets)
        {
            throw new ArgumentException($"X3DH/PQXDH combine {MinDiffieHellmanSecrets} or {MaxDiffieHellmanSecrets} X25519 secrets, not {diffieHellman.Count}.", nameof(diffieHellman));
        }
        if (output.Length != OutputSize)
        {
            throw new ArgumentException($"SK is {OutputSize} bytes.", nameof(output));
        }
        int length = SecretSize * (1 + diffieHellman.Count + (kemSecret is null ? 0 : 1));
        Span<byte> inputKeyingMaterial = scratch[..length];
        try
        {
            inputKeyingMaterial[..SecretSize].Fill(0xFF);
            int offset = SecretSize;
            for (int i = 0; i < diffieHellman.Count; i++)
            {
                SharedSecret secret = diffieHellman[i] ?? throw new ArgumentNullException(nameof(diffieHellman), $"DH{i + 1} is null.");
                if (secret.Group != X25519 || secret.Size != SecretSize)
                {
                    throw new ArgumentException($"DH{i + 1} comes from {secret.Group}; X3DH/PQXDH here are defined over {X25519} only.", nameof(diffieHellman));
                }
                secret.Secret.CopyTo(inputKeyingMaterial[offset..]);
                offset += SecretSize;
            }
            kemSecret?.Secret.CopyTo(inputKeyingMaterial[offset..]);

            Span<byte> salt = stackalloc byte[SecretSize];
            salt.Clear();
            HKDF.DeriveKey(HashAlgorithmName.SHA256, inputKeyingMaterial, output, salt, info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(inputKeyingMaterial);
        }
    }
}
