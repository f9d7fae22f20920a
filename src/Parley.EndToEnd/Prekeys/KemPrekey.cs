// The public half of an ML-KEM-768 prekey (PQSPK or PQOPK): encapsulation key, id and kind,
// signed by the owner's Ed25519 identity over label || kind || id || key.
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Kem;

namespace Parley.EndToEnd.Prekeys;

public sealed class KemPrekey
{
    public const int PublicKeySize = MlKem768.EncapsulationKeySize;

    private readonly byte[] _publicKey;
    private readonly byte[] _signature;

    public KemPrekey(uint id, KemPrekeyKind kind, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signature)
    {
        if (kind is not (KemPrekeyKind.OneTime or KemPrekeyKind.LastResort))
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"ML-KEM prekey: unknown kind {(byte)kind}");
        }
        if (signature.Length != IdentityPublicKey.SignatureSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "ML-KEM prekey: wrong signature length");
        }
        MlKem768.ValidateEncapsulationKey(publicKey, $"ML-KEM prekey {id}");
        Id = id;
        Kind = kind;
        _publicKey = publicKey.ToArray();
        _signature = signature.ToArray();
    }

    public uint Id { get; }

    public KemPrekeyKind Kind { get; }

    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public ReadOnlySpan<byte> Signature => _signature;

    /// <summary>Fails closed: throws E2eProtocolException(InvalidSignature) unless <paramref name="owner"/> signed this key and kind.</summary>
    public void Verify(IdentityPublicKey owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (!owner.Verify(SignedData.KemPrekey((byte)Kind, Id, _publicKey), _signature))
        {
            throw new E2eProtocolException(E2eError.InvalidSignature, $"ML-KEM prekey {Id}: the signature does not verify");
        }
    }

    public override string ToString() => $"{nameof(KemPrekey)}({Id}, {Kind})";
}
