// Key agreement over the three groups Parley negotiates: x25519 (RFC 7748), p256 (NIST P-256 ECDH,
// SEC1 uncompressed points) and modp2048 (RFC 3526 group 14, generator 2).
// Public methods check their arguments and then call the …Core methods of an implementation.
// Every peer public key is validated before use; an invalid one throws InvalidPublicKeyException.
namespace Parley.Crypto.KeyAgreement;

public abstract class KeyAgreementAlgorithm
{
    /// <summary>The name negotiated on the wire (PROTOCOL.md §3).</summary>
    public abstract string Name { get; }

    /// <summary>Length in bytes of an encoded public key (the key share on the wire).</summary>
    public abstract int PublicKeySize { get; }

    /// <summary>Length in bytes of an encoded private key (the input of <see cref="ImportPrivateKey"/>).</summary>
    public abstract int PrivateKeySize { get; }

    /// <summary>Length in bytes of the raw shared secret.</summary>
    public abstract int SharedSecretSize { get; }

    /// <summary>"native" (OpenSSL libcrypto) or "managed": which implementation does the work.</summary>
    public abstract string Implementation { get; }

    /// <summary>A new key; its private part can be exported only with <see cref="KeyExportPolicy.AllowExport"/>.</summary>
    public KeyAgreementPrivateKey GenerateKey(KeyExportPolicy exportPolicy = KeyExportPolicy.None)
    {
        KeyExportPolicyChecks.Validate(exportPolicy);
        KeyAgreementPrivateKey key = GenerateKeyCore();
        key.ExportPolicy = exportPolicy;
        return key;
    }

    /// <summary>
    /// Builds a private key from its encoding (a stored prekey, or a test vector), checking its
    /// length and, where the group has one, its range.
    /// </summary>
    /// <exception cref="ArgumentException">The encoding is not a valid private key of this group.</exception>
    public KeyAgreementPrivateKey ImportPrivateKey(ReadOnlySpan<byte> privateKey, KeyExportPolicy exportPolicy = KeyExportPolicy.None)
    {
        KeyExportPolicyChecks.Validate(exportPolicy);
        if (!IsValidPrivateKeyLength(privateKey.Length))
        {
            throw new ArgumentException($"A {Name} private key is {PrivateKeySize} bytes, not {privateKey.Length}.", nameof(privateKey));
        }
        KeyAgreementPrivateKey key = ImportPrivateKeyCore(privateKey);
        key.ExportPolicy = exportPolicy;
        return key;
    }

    /// <summary>
    /// Imports a stored key pair (a prekey kept with its public key), refusing it when the private
    /// key does not produce <paramref name="expectedPublicKey"/>: a corrupted or mixed-up store
    /// fails here, not later as an unexplained handshake failure on the peer's side.
    /// </summary>
    /// <exception cref="ArgumentException">The private key is invalid or does not match the public key.</exception>
    public KeyAgreementPrivateKey ImportKeyPair(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> expectedPublicKey, KeyExportPolicy exportPolicy = KeyExportPolicy.None)
    {
        KeyAgreementPrivateKey key = ImportPrivateKey(privateKey, exportPolicy);
        if (!key.PublicKey.SequenceEqual(expectedPublicKey))
        {
            key.Dispose();
            throw new ArgumentException($"The {Name} private key does not belong to the given public key.", nameof(expectedPublicKey));
        }
        return key;
    }

    /// <summary>Agrees on a shared secret with a peer's public key, validating that key first.</summary>
    /// <exception cref="InvalidPublicKeyException">The peer's key is malformed, off the group or degenerate.</exception>
    public SharedSecret Agree(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey)
    {
        ArgumentNullException.ThrowIfNull(ourKey);
        if (!ReferenceEquals(ourKey.Algorithm, this))
        {
            throw new ArgumentException($"The key belongs to {ourKey.Algorithm.Name}, not {Name}.", nameof(ourKey));
        }
        ObjectDisposedException.ThrowIf(ourKey.IsDisposed, ourKey);
        if (theirPublicKey.Length != PublicKeySize)
        {
            throw new InvalidPublicKeyException(Name, $"length is {theirPublicKey.Length} bytes, expected {PublicKeySize}");
        }
        return AgreeCore(ourKey, theirPublicKey);
    }

    private protected virtual bool IsValidPrivateKeyLength(int length) => length == PrivateKeySize;

    private protected abstract KeyAgreementPrivateKey GenerateKeyCore();
    private protected abstract KeyAgreementPrivateKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey);
    private protected abstract SharedSecret AgreeCore(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey);

    public override string ToString() => $"{Name} ({Implementation})";
}
