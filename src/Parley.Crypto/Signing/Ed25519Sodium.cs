// Ed25519 (RFC 8032, pure) through NSec (libsodium): measured 2.2–2.3× faster to sign and ~2×
// faster to verify than the libcrypto P/Invoke path here (docs/decisions/0003-ed25519-nsec.md).
// The private key lives only in libsodium's guarded memory, which NSec wipes on Dispose.
using NSec.Cryptography;

namespace Parley.Crypto.Signing;

internal sealed class Ed25519Sodium : SignatureAlgorithm
{
    private const int KeySize = Ed25519Native.KeySize;
    private const int SigSize = Ed25519Native.SigSize;

    // Parley's own KeyExportPolicy decides whether ExportPrivateKey may run; NSec must merely be able to.
    private static KeyCreationParameters Exportable => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    public override string Name => "ed25519";
    public override int PublicKeySize => KeySize;
    public override int PrivateKeySize => KeySize;
    public override int SignatureSize => SigSize;
    public override string Implementation => "sodium";

    /// <summary>False when libsodium cannot be loaded (or PARLEY_CRYPTO_BACKEND=managed); the registry then falls back.</summary>
    internal static bool IsAvailable { get; } = Probe();

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable("PARLEY_CRYPTO_BACKEND") is "managed")
        {
            return false;
        }
        try
        {
            return NSec.Cryptography.SignatureAlgorithm.Ed25519 is not null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException
                                      or TypeInitializationException or InvalidOperationException or PlatformNotSupportedException)
        {
            return false;
        }
    }

    private static Ed25519 Algorithm => NSec.Cryptography.SignatureAlgorithm.Ed25519;

    private protected override SigningKey GenerateKeyCore() => new SodiumKey(this, Key.Create(Algorithm, Exportable));

    private protected override SigningKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey) =>
        new SodiumKey(this, Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey, Exportable));

    private protected override bool VerifyCore(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out PublicKey? key)
        && Algorithm.Verify(key!, data, signature);

    private sealed class SodiumKey(Ed25519Sodium algorithm, Key key)
        : SigningKey(algorithm, key.PublicKey.Export(KeyBlobFormat.RawPublicKey))
    {
        private protected override byte[] SignCore(ReadOnlySpan<byte> data) => Ed25519Sodium.Algorithm.Sign(key, data);

        private protected override byte[] ExportPrivateKeyCore() => key.Export(KeyBlobFormat.RawPrivateKey);

        private protected override void DisposeCore() => key.Dispose();
    }
}
