using Parley.Crypto.Interop;

namespace Parley.Crypto.Signing;

/// <summary>The registry of identity signature algorithms.</summary>
public static class SignatureAlgorithms
{
    // Static initialisers run in text order: the implementation lists come before what reads them.
    internal static SignatureAlgorithm Ed25519Managed { get; } = new Ed25519Managed();

    /// <summary>Every Ed25519 implementation that works here, preferred first: for the registry and for differential tests.</summary>
    internal static IReadOnlyList<SignatureAlgorithm> Ed25519Implementations { get; } =
    [
        .. Ed25519Sodium.IsAvailable ? [new Ed25519Sodium()] : Array.Empty<SignatureAlgorithm>(),
        .. LibCrypto.IsAvailable ? [new Ed25519Native()] : Array.Empty<SignatureAlgorithm>(),
        Ed25519Managed,
    ];

    /// <summary>
    /// Ed25519 through libsodium (NSec) where it loads, else libcrypto, else BouncyCastle: fastest
    /// first, as measured in docs/decisions/0003-ed25519-nsec.md.
    /// </summary>
    public static SignatureAlgorithm Ed25519 { get; } = Ed25519Implementations[0];
    public static SignatureAlgorithm EcdsaP256 { get; } = new EcdsaP256();

    /// <summary>All algorithms; the first is the default for new identities.</summary>
    public static IReadOnlyList<SignatureAlgorithm> All { get; } = [Ed25519, EcdsaP256];

    public static bool TryGet(string name, out SignatureAlgorithm algorithm)
    {
        foreach (SignatureAlgorithm candidate in All)
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

    public static SignatureAlgorithm Get(string name) =>
        TryGet(name, out SignatureAlgorithm algorithm)
            ? algorithm
            : throw new ArgumentException($"Unknown signature algorithm '{name}'. Known: {string.Join(", ", All.Select(a => a.Name))}.", nameof(name));
}
