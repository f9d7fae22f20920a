// A device's public identity: the Ed25519 key that signs, the X25519 key that takes part in PQXDH,
// and the Ed25519 signature binding the second to the first (docs/decisions/0005). An instance
// exists only with a verified binding: construction and decoding fail closed.
using System.Security.Cryptography;
using Parley.Crypto.Signing;
using Parley.EndToEnd.Wire;

namespace Parley.EndToEnd.Identity;

public sealed class IdentityPublicKey : IEquatable<IdentityPublicKey>
{
    public const int SigningKeySize = 32;
    public const int AgreementKeySize = X25519Keys.KeySize;
    public const int SignatureSize = 64;

    /// <summary>Ed25519 key || X25519 key || binding signature.</summary>
    public const int EncodedSize = SigningKeySize + AgreementKeySize + SignatureSize;

    /// <summary>The type byte of <see cref="EncodeForAssociatedData"/>: "Ed25519 + X25519 identity, version 1".</summary>
    public const byte KeyType = 0x01;

    private readonly byte[] _signingKey;
    private readonly byte[] _agreementKey;
    private readonly byte[] _bindingSignature;

    internal IdentityPublicKey(ReadOnlySpan<byte> signingKey, ReadOnlySpan<byte> agreementKey, ReadOnlySpan<byte> bindingSignature)
    {
        if (signingKey.Length != SigningKeySize || agreementKey.Length != AgreementKeySize || bindingSignature.Length != SignatureSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "identity key: wrong field length");
        }
        if (!SignatureAlgorithms.Ed25519.Verify(signingKey, SignedData.IdentityBinding(agreementKey), bindingSignature))
        {
            throw new E2eProtocolException(E2eError.InvalidSignature, "identity key: the X25519 key is not signed by the Ed25519 key");
        }
        _signingKey = signingKey.ToArray();
        _agreementKey = agreementKey.ToArray();
        _bindingSignature = bindingSignature.ToArray();
    }

    /// <summary>The Ed25519 public key: verifies prekeys, and is what safety numbers show.</summary>
    public ReadOnlySpan<byte> SigningKey => _signingKey;

    /// <summary>The X25519 public key used in PQXDH (IK).</summary>
    public ReadOnlySpan<byte> AgreementKey => _agreementKey;

    public ReadOnlySpan<byte> BindingSignature => _bindingSignature;

    public byte[] Encode()
    {
        ByteWriter writer = new(EncodedSize);
        Write(writer);
        return writer.ToArray();
    }

    /// <summary>Decodes and verifies the binding signature.</summary>
    public static IdentityPublicKey Decode(ReadOnlySpan<byte> encoded)
    {
        ByteReader reader = new(encoded, "identity key");
        IdentityPublicKey key = Read(ref reader);
        reader.EnsureEnd();
        return key;
    }

    /// <summary>Encode(IK) for PQXDH's associated data: type byte || Ed25519 key || X25519 key.</summary>
    public byte[] EncodeForAssociatedData() =>
        new ByteWriter(1 + SigningKeySize + AgreementKeySize).WriteByte(KeyType).WriteBytes(_signingKey).WriteBytes(_agreementKey).ToArray();

    /// <summary>True only for a valid Ed25519 signature by this identity over <paramref name="data"/>.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        SignatureAlgorithms.Ed25519.Verify(_signingKey, data, signature);

    internal void Write(ByteWriter writer) => writer.WriteBytes(_signingKey).WriteBytes(_agreementKey).WriteBytes(_bindingSignature);

    internal static IdentityPublicKey Read(ref ByteReader reader) =>
        new(reader.ReadSpan(SigningKeySize, "identity signing key"), reader.ReadSpan(AgreementKeySize, "identity agreement key"),
            reader.ReadSpan(SignatureSize, "identity binding signature"));

    public bool Equals(IdentityPublicKey? other) =>
        other is not null
        && CryptographicOperations.FixedTimeEquals(_signingKey, other._signingKey)
        && CryptographicOperations.FixedTimeEquals(_agreementKey, other._agreementKey);

    public override bool Equals(object? obj) => Equals(obj as IdentityPublicKey);

    public override int GetHashCode() => BitConverter.ToInt32(_signingKey, 0);

    public override string ToString() => $"{nameof(IdentityPublicKey)}({Fingerprint.Of(SignatureAlgorithms.Ed25519, _signingKey)})";
}
