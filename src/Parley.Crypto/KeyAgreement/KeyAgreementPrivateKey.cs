namespace Parley.Crypto.KeyAgreement;

/// <summary>
/// An ephemeral key-agreement private key and its public key. Dispose wipes the private part;
/// ToString never shows key material.
/// </summary>
public abstract class KeyAgreementPrivateKey : IDisposable
{
    private readonly byte[] _publicKey;

    private protected KeyAgreementPrivateKey(KeyAgreementAlgorithm algorithm, byte[] publicKey)
    {
        Algorithm = algorithm;
        _publicKey = publicKey;
    }

    public KeyAgreementAlgorithm Algorithm { get; }

    /// <summary>The encoded public key, sent to the peer as the key share.</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public bool IsDisposed { get; private set; }

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

    public override string ToString() => $"{nameof(KeyAgreementPrivateKey)}({Algorithm.Name})";
}
