namespace Parley.Crypto.Aead;

/// <summary>The registry of negotiable AEAD suites.</summary>
public static class AeadAlgorithms
{
    public static AeadAlgorithm Aes256Gcm { get; } = new Aes256GcmAlgorithm();
    public static AeadAlgorithm ChaCha20Poly1305 { get; } = new ChaCha20Poly1305Algorithm();
    public static AeadAlgorithm Aes256CbcHmacSha256 { get; } = new Aes256CbcHmacSha256Algorithm();

    /// <summary>All suites, in Parley's default order of preference (AES-GCM first).</summary>
    public static IReadOnlyList<AeadAlgorithm> All { get; } = [Aes256Gcm, ChaCha20Poly1305, Aes256CbcHmacSha256];

    public static bool TryGet(string name, out AeadAlgorithm algorithm)
    {
        foreach (AeadAlgorithm candidate in All)
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

    public static AeadAlgorithm Get(string name) =>
        TryGet(name, out AeadAlgorithm algorithm)
            ? algorithm
            : throw new ArgumentException($"Unknown AEAD suite '{name}'. Known: {string.Join(", ", All.Select(a => a.Name))}.", nameof(name));
}
