// What a sender hands each member over the pairwise sessions (PROTOCOL.md §14.3): its chain for
// one group at one iteration and the public key that signs its messages. Version 1, 89 bytes:
//   u8 version = 1 || group id (16) || u32 key id || u32 iteration || chain key (32) || Ed25519 public key (32)
// The chain key is secret: the encoding is only ever sent inside a pairwise envelope and the
// instance wipes it on Dispose.
using System.Security.Cryptography;
using Parley.EndToEnd.Wire;

namespace Parley.EndToEnd.SenderKeys;

public sealed class SenderKeyDistribution : IDisposable
{
    public const byte Version = 1;
    public const int EncodedSize = 1 + SenderKeyLimits.GroupIdSize + 4 + 4 + SenderKeyKdf.KeySize + SenderKeyMessage.SigningKeySize;

    private readonly byte[] _groupId;
    private readonly byte[] _chainKey;
    private readonly byte[] _signingKey;

    internal SenderKeyDistribution(ReadOnlySpan<byte> groupId, uint keyId, uint iteration, ReadOnlySpan<byte> chainKey, ReadOnlySpan<byte> signingKey)
    {
        if (groupId.Length != SenderKeyLimits.GroupIdSize || chainKey.Length != SenderKeyKdf.KeySize || signingKey.Length != SenderKeyMessage.SigningKeySize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "sender key distribution: wrong field length");
        }
        _groupId = groupId.ToArray();
        KeyId = keyId;
        Iteration = iteration;
        _chainKey = chainKey.ToArray();
        _signingKey = signingKey.ToArray();
    }

    public ReadOnlySpan<byte> GroupId => _groupId;

    /// <summary>Random per sender key: a rotated key gets a new one, so old and new chains never mix.</summary>
    public uint KeyId { get; }

    /// <summary>The chain position <see cref="ChainKey"/> is at: the receiver can read this message and later ones, never earlier.</summary>
    public uint Iteration { get; }

    internal ReadOnlySpan<byte> ChainKey => _chainKey;

    public ReadOnlySpan<byte> SigningPublicKey => _signingKey;

    public byte[] Encode() =>
        new ByteWriter(EncodedSize).WriteByte(Version).WriteBytes(_groupId).WriteUInt32(KeyId).WriteUInt32(Iteration)
            .WriteBytes(_chainKey).WriteBytes(_signingKey).ToArray();

    public static SenderKeyDistribution Decode(ReadOnlySpan<byte> encoded)
    {
        ByteReader reader = new(encoded, "sender key distribution");
        reader.ExpectVersion(reader.ReadByte("version"), Version);
        ReadOnlySpan<byte> groupId = reader.ReadSpan(SenderKeyLimits.GroupIdSize, "group id");
        uint keyId = reader.ReadUInt32("key id");
        uint iteration = reader.ReadUInt32("iteration");
        ReadOnlySpan<byte> chainKey = reader.ReadSpan(SenderKeyKdf.KeySize, "chain key");
        ReadOnlySpan<byte> signingKey = reader.ReadSpan(SenderKeyMessage.SigningKeySize, "signing key");
        reader.EnsureEnd();
        return new SenderKeyDistribution(groupId, keyId, iteration, chainKey, signingKey);
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_chainKey);

    public override string ToString() => $"{nameof(SenderKeyDistribution)}(key {KeyId}, iteration {Iteration})";
}
