using Parley.Crypto.Interop;

namespace Parley.Crypto.KeyAgreement;

/// <summary>The registry of negotiable groups, each backed by the fastest available implementation.</summary>
public static class KeyAgreementAlgorithms
{
    // libsodium first: its key generation (fixed-base, precomputed tables) costs half of libcrypto's
    // EVP_PKEY path, and a handshake's generation plus agreement ~0.8× (docs/decisions/0013).
    public static KeyAgreementAlgorithm X25519 { get; } =
        LibSodium.IsAvailable ? new X25519Sodium() : LibCrypto.IsAvailable ? new X25519Native() : new X25519Managed();
    public static KeyAgreementAlgorithm P256 { get; } = LibCrypto.IsAvailable ? new P256Native() : new P256KeyAgreement();
    public static KeyAgreementAlgorithm Modp2048 { get; } = LibCrypto.IsAvailable ? new Modp2048Native() : new Modp2048Managed();

    /// <summary>All groups, in Parley's default order of preference.</summary>
    public static IReadOnlyList<KeyAgreementAlgorithm> All { get; } = [X25519, P256, Modp2048];

    /// <summary>Native implementations available here but not chosen above, for differential tests.</summary>
    internal static IReadOnlyList<KeyAgreementAlgorithm> Alternatives { get; } =
        LibSodium.IsAvailable && LibCrypto.IsAvailable ? [new X25519Native()] : [];

    /// <summary>The portable implementations, for platforms without libcrypto and for differential tests.</summary>
    internal static IReadOnlyList<KeyAgreementAlgorithm> Managed { get; } = [new X25519Managed(), new P256KeyAgreement(), new Modp2048Managed()];

    public static bool TryGet(string name, out KeyAgreementAlgorithm algorithm)
    {
        foreach (KeyAgreementAlgorithm candidate in All)
        {
            if (candidate.Name == name)
            {
                algorithm = candidate;
                return true;
            }
        }
        algorithm = null!;
        return false;
    }

    public static KeyAgreementAlgorithm Get(string name) =>
        TryGet(name, out KeyAgreementAlgorithm algorithm)
            ? algorithm
            : throw new ArgumentException($"Unknown key agreement group '{name}'. Known: {string.Join(", ", All.Select(a => a.Name))}.", nameof(name));
}
