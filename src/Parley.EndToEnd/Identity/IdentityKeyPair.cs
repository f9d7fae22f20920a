// A device identity's private half: an Ed25519 signing key and an X25519 agreement key, two keys
// because libsodium (NSec) has no XEdDSA and we do not write primitives (docs/decisions/0005).
// Dispose wipes both; ToString shows only the public fingerprint.
using System.Security.Cryptography;
using Parley.Crypto;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;

namespace Parley.EndToEnd.Identity;

public sealed class IdentityKeyPair : IDisposable
{
    public const int SigningPrivateKeySize = 32;
    public const int AgreementPrivateKeySize = X25519Keys.KeySize;

    private readonly SigningKey _signingKey;
    private readonly KeyAgreementPrivateKey _agreementKey;

    private IdentityKeyPair(SigningKey signingKey, KeyAgreementPrivateKey agreementKey)
    {
        _signingKey = signingKey;
        _agreementKey = agreementKey;
        PublicKey = new IdentityPublicKey(signingKey.PublicKey, agreementKey.PublicKey, signingKey.Sign(SignedData.IdentityBinding(agreementKey.PublicKey)));
    }

    public IdentityPublicKey PublicKey { get; }

    /// <summary>A new identity: a 32-byte Ed25519 seed and a 32-byte X25519 scalar from <paramref name="random"/>.</summary>
    public static IdentityKeyPair Generate(IE2eRandom? random = null)
    {
        random ??= SystemE2eRandom.Instance;
        Span<byte> seed = stackalloc byte[SigningPrivateKeySize];
        try
        {
            random.Fill(seed);
            SigningKey signing = SignatureAlgorithms.Ed25519.ImportPrivateKey(seed, KeyExportPolicy.AllowExport);
            return new IdentityKeyPair(signing, X25519Keys.Generate(random));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>Rebuilds a stored identity; the binding is re-signed (Ed25519 is deterministic: the same bytes).</summary>
    public static IdentityKeyPair Import(ReadOnlySpan<byte> signingPrivateKey, ReadOnlySpan<byte> agreementPrivateKey) =>
        new(SignatureAlgorithms.Ed25519.ImportPrivateKey(signingPrivateKey, KeyExportPolicy.AllowExport), X25519Keys.Import(agreementPrivateKey));

    /// <summary>The Ed25519 seed, to store the identity; the caller must wipe it.</summary>
    public byte[] ExportSigningPrivateKey() => _signingKey.ExportPrivateKey();

    /// <summary>The X25519 scalar, to store the identity; the caller must wipe it.</summary>
    public byte[] ExportAgreementPrivateKey() => _agreementKey.ExportPrivateKey();

    internal byte[] Sign(ReadOnlySpan<byte> data) => _signingKey.Sign(data);

    internal SharedSecret Agree(ReadOnlySpan<byte> theirPublicKey, string what) => X25519Keys.Agree(_agreementKey, theirPublicKey, what);

    public void Dispose()
    {
        _signingKey.Dispose();
        _agreementKey.Dispose();
    }

    public override string ToString() => $"{nameof(IdentityKeyPair)}({PublicKey})";
}
