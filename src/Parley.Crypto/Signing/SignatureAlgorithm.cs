// Long-term identity signatures: ed25519 (RFC 8032, the default) and ecdsa-p256-sha256
// (FIPS 186-4, IEEE P1363 r||s encoding, SEC1 uncompressed public keys).
namespace Parley.Crypto.Signing;

public abstract class SignatureAlgorithm
{
    /// <summary>The name used on the wire, in identity files and in known_hosts.</summary>
    public abstract string Name { get; }
    public abstract int PublicKeySize { get; }
    public abstract int PrivateKeySize { get; }
    public abstract int SignatureSize { get; }
    public abstract string Implementation { get; }

    /// <summary>A new key; its private part can be exported only with <see cref="KeyExportPolicy.AllowExport"/>.</summary>
    public SigningKey GenerateKey(KeyExportPolicy exportPolicy = KeyExportPolicy.None)
    {
        KeyExportPolicyChecks.Validate(exportPolicy);
        SigningKey key = GenerateKeyCore();
        key.ExportPolicy = exportPolicy;
        return key;
    }

    /// <summary>Builds a key from its encoding, checking length and range (a P-256 scalar must lie in [1, n-1]).</summary>
    /// <exception cref="ArgumentException">The encoding is not a valid private key of this algorithm.</exception>
    public SigningKey ImportPrivateKey(ReadOnlySpan<byte> privateKey, KeyExportPolicy exportPolicy = KeyExportPolicy.None)
    {
        KeyExportPolicyChecks.Validate(exportPolicy);
        if (privateKey.Length != PrivateKeySize)
        {
            throw new ArgumentException($"A {Name} private key is {PrivateKeySize} bytes, not {privateKey.Length}.", nameof(privateKey));
        }
        SigningKey key = ImportPrivateKeyCore(privateKey);
        key.ExportPolicy = exportPolicy;
        return key;
    }

    /// <summary>
    /// Imports a stored key pair, refusing it when the private key does not produce
    /// <paramref name="expectedPublicKey"/> (a corrupted or mixed-up store fails here).
    /// </summary>
    /// <exception cref="ArgumentException">The private key is invalid or does not match the public key.</exception>
    public SigningKey ImportKeyPair(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> expectedPublicKey, KeyExportPolicy exportPolicy = KeyExportPolicy.None)
    {
        SigningKey key = ImportPrivateKey(privateKey, exportPolicy);
        if (!key.PublicKey.SequenceEqual(expectedPublicKey))
        {
            key.Dispose();
            throw new ArgumentException($"The {Name} private key does not belong to the given public key.", nameof(expectedPublicKey));
        }
        return key;
    }

    /// <summary>True only for a well-formed signature by that key over exactly that data; malformed keys or signatures are just false.</summary>
    public bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        publicKey.Length == PublicKeySize && signature.Length == SignatureSize && VerifyCore(publicKey, data, signature);

    private protected abstract SigningKey GenerateKeyCore();
    private protected abstract SigningKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey);
    private protected abstract bool VerifyCore(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature);

    public override string ToString() => $"{Name} ({Implementation})";
}
