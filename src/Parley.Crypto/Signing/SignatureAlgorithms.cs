using Parley.Crypto.Interop;

namespace Parley.Crypto.Signing;

/// <summary>The registry of identity signature algorithms.</summary>
public static class SignatureAlgorithms
{
    public static SignatureAlgorithm Ed25519 { get; } = LibCrypto.IsAvailable ? new Ed25519Native() : new Ed25519Managed();
    public static SignatureAlgorithm EcdsaP256 { get; } = new EcdsaP256();

    /// <summary>All algorithms; the first is the default for new identities.</summary>
    public static IReadOnlyList<SignatureAlgorithm> All { get; } = [Ed25519, EcdsaP256];

    internal static SignatureAlgorithm Ed25519Managed { get; } = new Ed25519Managed();

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
