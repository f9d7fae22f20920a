using System.Security.Cryptography;

namespace Parley.Crypto.Aead;

/// <summary>
/// One AEAD key, ready to seal and open. Not thread-safe: the record layer gives each direction
/// its own key. Authentication failure is a plain <c>false</c>, never a reason (NSec's habit):
/// malformed and forged input look the same to an attacker.
/// </summary>
public abstract class AeadKey : IDisposable
{
    private protected AeadKey(AeadAlgorithm algorithm) => Algorithm = algorithm;

    public AeadAlgorithm Algorithm { get; }

    protected bool IsDisposed { get; private set; }

    /// <summary>Encrypts and authenticates; <paramref name="ciphertext"/> must be exactly CiphertextLength(plaintext.Length).</summary>
    public void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckNonce(nonce);
        if (ciphertext.Length != Algorithm.CiphertextLength(plaintext.Length))
        {
            throw new ArgumentException($"The ciphertext buffer must be {Algorithm.CiphertextLength(plaintext.Length)} bytes.", nameof(ciphertext));
        }
        SealCore(nonce, plaintext, associatedData, ciphertext);
    }

    /// <summary>
    /// Verifies and decrypts. False (with <paramref name="plaintext"/> cleared) when the ciphertext
    /// is not authentic under this key, nonce and associated data.
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> plaintext, out int plaintextLength)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckNonce(nonce);
        if (TryOpenCore(nonce, ciphertext, associatedData, plaintext, out plaintextLength))
        {
            return true;
        }
        CryptographicOperations.ZeroMemory(plaintext);
        plaintextLength = 0;
        return false;
    }

    private static void CheckNonce(ReadOnlySpan<byte> nonce)
    {
        if (nonce.Length != AeadAlgorithm.NonceSize)
        {
            throw new ArgumentException($"The nonce must be {AeadAlgorithm.NonceSize} bytes.", nameof(nonce));
        }
    }

    private protected abstract void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext);

    private protected abstract bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> plaintext, out int plaintextLength);

    public void Dispose()
    {
        if (!IsDisposed)
        {
            IsDisposed = true;
            DisposeCore();
        }
        GC.SuppressFinalize(this);
    }

    private protected abstract void DisposeCore();

    public override string ToString() => $"{nameof(AeadKey)}({Algorithm.Name})";
}
