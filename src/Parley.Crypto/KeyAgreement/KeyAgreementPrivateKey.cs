namespace Parley.Crypto.KeyAgreement;

/// <summary>
/// A key-agreement private key and its public key: ephemeral for the channel handshake, long-term
/// for prekeys. Dispose wipes the private part; ToString never shows key material. The private key
/// can be exported (to store a prekey) only if it was generated or imported with
/// <see cref="KeyExportPolicy.AllowExport"/>.
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

    /// <summary>Fixed at generation or import.</summary>
    public KeyExportPolicy ExportPolicy { get; internal set; }

    /// <summary>The private key's encoding (the input of ImportPrivateKey). The caller must wipe it.</summary>
    /// <exception cref="InvalidOperationException">The key's <see cref="ExportPolicy"/> does not allow export.</exception>
    public byte[] ExportPrivateKey()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        KeyExportPolicyChecks.ThrowIfNotExportable(ExportPolicy, $"{Algorithm.Name} private key");
        return ExportPrivateKeyCore();
    }

    private protected abstract byte[] ExportPrivateKeyCore();

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
