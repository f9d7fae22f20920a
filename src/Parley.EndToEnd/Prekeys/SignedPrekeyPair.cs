// A signed prekey with its private key, as the owner's key store keeps it. The private key
// becomes the responder's first ratchet key, so it is exportable; Dispose wipes it.
using Parley.Crypto.KeyAgreement;
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Prekeys;

public sealed class SignedPrekeyPair : IDisposable
{
    private readonly KeyAgreementPrivateKey _key;

    private SignedPrekeyPair(KeyAgreementPrivateKey key, SignedPrekey publicPart)
    {
        _key = key;
        Public = publicPart;
    }

    public SignedPrekey Public { get; }

    public uint Id => Public.Id;

    public static SignedPrekeyPair Generate(IdentityKeyPair owner, uint id, IE2eRandom? random = null)
    {
        ArgumentNullException.ThrowIfNull(owner);
        KeyAgreementPrivateKey key = X25519Keys.Generate(random ?? SystemE2eRandom.Instance);
        byte[] signature = owner.Sign(SignedData.SignedPrekey(id, key.PublicKey));
        return new SignedPrekeyPair(key, new SignedPrekey(id, key.PublicKey, signature));
    }

    /// <summary>Rebuilds a stored prekey; the signature is checked against <paramref name="owner"/>.</summary>
    public static SignedPrekeyPair Import(IdentityPublicKey owner, uint id, ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> signature)
    {
        KeyAgreementPrivateKey key = X25519Keys.Import(privateKey);
        SignedPrekey publicPart = new(id, key.PublicKey, signature);
        publicPart.Verify(owner);
        return new SignedPrekeyPair(key, publicPart);
    }

    /// <summary>The X25519 scalar, to store the prekey; the caller must wipe it.</summary>
    public byte[] ExportPrivateKey() => _key.ExportPrivateKey();

    internal KeyAgreementPrivateKey Key => _key;

    public void Dispose() => _key.Dispose();

    public override string ToString() => $"{nameof(SignedPrekeyPair)}({Id})";
}
