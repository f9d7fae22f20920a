namespace Parley.Crypto.Signing;

/// <summary>
/// A long-term signing key. Dispose wipes it; ToString never shows key material. Its private key
/// can be exported only if it was generated or imported with <see cref="KeyExportPolicy.AllowExport"/>.
/// </summary>
public abstract class SigningKey : IDisposable
{
    private readonly byte[] _publicKey;

    private protected SigningKey(SignatureAlgorithm algorithm, byte[] publicKey)
    {
        Algorithm = algorithm;
        _publicKey = publicKey;
    }

    public SignatureAlgorithm Algorithm { get; }

    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public bool IsDisposed { get; private set; }

    /// <summary>Fixed at generation or import.</summary>
    public KeyExportPolicy ExportPolicy { get; internal set; }

    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return SignCore(data);
    }

    /// <summary>The private key's encoding, to store in an identity file. The caller must wipe it.</summary>
    /// <exception cref="InvalidOperationException">The key's <see cref="ExportPolicy"/> does not allow export.</exception>
    public byte[] ExportPrivateKey()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        KeyExportPolicyChecks.ThrowIfNotExportable(ExportPolicy, $"{Algorithm.Name} signing key");
        return ExportPrivateKeyCore();
    }

    private protected abstract byte[] SignCore(ReadOnlySpan<byte> data);
    private protected abstract byte[] ExportPrivateKeyCore();
    private protected abstract void DisposeCore();

    public void Dispose()
    {
        if (!IsDisposed)
        {
            IsDisposed = true;
            DisposeCore();
        }
        GC.SuppressFinalize(this);
    }

    public override string ToString() => $"{nameof(SigningKey)}({Algorithm.Name})";
}
