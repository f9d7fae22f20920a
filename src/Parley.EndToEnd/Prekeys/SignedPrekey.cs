// The public half of a signed prekey (SPK): an X25519 key with an id, signed by the owner's
// Ed25519 identity key over label || id || key (Identity/SignedData.cs).
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Prekeys;

public sealed class SignedPrekey
{
    private readonly byte[] _publicKey;
    private readonly byte[] _signature;

    public SignedPrekey(uint id, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != X25519Keys.KeySize || signature.Length != IdentityPublicKey.SignatureSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "signed prekey: wrong field length");
        }
        Id = id;
        _publicKey = publicKey.ToArray();
        _signature = signature.ToArray();
    }

    public uint Id { get; }

    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public ReadOnlySpan<byte> Signature => _signature;

    /// <summary>Fails closed: throws E2eProtocolException(InvalidSignature) unless <paramref name="owner"/> signed this key.</summary>
    public void Verify(IdentityPublicKey owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (!owner.Verify(SignedData.SignedPrekey(Id, _publicKey), _signature))
        {
            throw new E2eProtocolException(E2eError.InvalidSignature, $"signed prekey {Id}: the signature does not verify");
        }
    }

    public override string ToString() => $"{nameof(SignedPrekey)}({Id})";
}
