// The AEAD suites Parley negotiates: aes-256-gcm (default), chacha20-poly1305 and
// aes-256-cbc-hmac-sha256 (encrypt-then-MAC). All take a 96-bit nonce, which the record layer
// builds from a per-direction counter so that a nonce is never reused under one key.
namespace Parley.Crypto.Aead;

public abstract class AeadAlgorithm
{
    public const int NonceSize = 12;

    /// <summary>The name negotiated on the wire (PROTOCOL.md §3).</summary>
    public abstract string Name { get; }

    /// <summary>Bytes of key material the suite consumes.</summary>
    public abstract int KeySize { get; }

    /// <summary>The largest expansion of any plaintext (tag, and padding for CBC).</summary>
    public abstract int MaxOverhead { get; }

    /// <summary>The exact ciphertext length for a plaintext of the given length.</summary>
    public abstract int CiphertextLength(int plaintextLength);

    public AeadKey CreateKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"{Name} takes a {KeySize}-byte key, not {key.Length} bytes.", nameof(key));
        }
        return CreateKeyCore(key);
    }

    private protected abstract AeadKey CreateKeyCore(ReadOnlySpan<byte> key);

    public override string ToString() => Name;
}
