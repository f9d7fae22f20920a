// This device's sender key for one group (PROTOCOL.md §14.2): a random key id, a random chain key
// and an Ed25519 signing key. Each Encrypt takes the message key of the current iteration, moves
// the chain on (the old chain key is wiped: a stolen state cannot read what was sent before) and
// signs the whole message. Rotation is a new instance; the old one is disposed.
using System.Buffers.Binary;
using System.Security.Cryptography;
using Parley.Crypto;
using Parley.Crypto.Signing;
using Parley.EndToEnd.Wire;

namespace Parley.EndToEnd.SenderKeys;

public sealed class OwnSenderKey : IDisposable
{
    public const byte StateVersion = 1;

    private readonly byte[] _groupId;
    private readonly byte[] _chainKey;
    private readonly SigningKey _signingKey;
    private bool _disposed;

    private OwnSenderKey(ReadOnlySpan<byte> groupId, uint keyId, uint iteration, byte[] chainKey, SigningKey signingKey)
    {
        if (groupId.Length != SenderKeyLimits.GroupIdSize)
        {
            throw new ArgumentException($"A group id is {SenderKeyLimits.GroupIdSize} bytes.", nameof(groupId));
        }
        _groupId = groupId.ToArray();
        KeyId = keyId;
        Iteration = iteration;
        _chainKey = chainKey;
        _signingKey = signingKey;
    }

    public uint KeyId { get; }

    /// <summary>The iteration the next message will use.</summary>
    public uint Iteration { get; private set; }

    public ReadOnlySpan<byte> GroupId => _groupId;

    public ReadOnlySpan<byte> SigningPublicKey => _signingKey.PublicKey;

    /// <summary>A new sender key: key id (4 bytes), chain key (32) and Ed25519 seed (32) drawn from <paramref name="random"/> in that order.</summary>
    public static OwnSenderKey Generate(ReadOnlySpan<byte> groupId, IE2eRandom? random = null)
    {
        random ??= SystemE2eRandom.Instance;
        Span<byte> id = stackalloc byte[4];
        random.Fill(id);
        byte[] chainKey = new byte[SenderKeyKdf.KeySize];
        random.Fill(chainKey);
        Span<byte> seed = stackalloc byte[32];
        try
        {
            random.Fill(seed);
            SigningKey signing = SignatureAlgorithms.Ed25519.ImportPrivateKey(seed, KeyExportPolicy.AllowExport);
            return new OwnSenderKey(groupId, BinaryPrimitives.ReadUInt32BigEndian(id), 0, chainKey, signing);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>What members get (over pairwise sessions): the chain as it is now, so they read from the next message on, never before.</summary>
    public SenderKeyDistribution Distribution()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new SenderKeyDistribution(_groupId, KeyId, Iteration, _chainKey, _signingKey.PublicKey);
    }

    /// <summary>One group message (§14.4); the chain moves on, so each message key is used once.</summary>
    /// <exception cref="E2eProtocolException"><see cref="E2eError.CounterExhausted"/> when the chain is used up (rotate).</exception>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (plaintext.Length > SenderKeyLimits.MaxPlaintextSize)
        {
            throw new ArgumentException($"A group message carries at most {SenderKeyLimits.MaxPlaintextSize} bytes.", nameof(plaintext));
        }
        if (Iteration == uint.MaxValue)
        {
            throw new E2eProtocolException(E2eError.CounterExhausted, "the sender key's chain is used up; make a new one");
        }
        Span<byte> messageKey = stackalloc byte[SenderKeyKdf.KeySize];
        Span<byte> next = stackalloc byte[SenderKeyKdf.KeySize];
        try
        {
            SenderKeyKdf.ChainStep(_chainKey, messageKey, next);
            byte[] header = SenderKeyMessage.EncodeHeader(_groupId, KeyId, Iteration);
            byte[] sealedData = SenderKeyKdf.Seal(messageKey, plaintext, header);
            byte[] signed = new byte[header.Length + sealedData.Length + SenderKeyMessage.SignatureSize];
            header.CopyTo(signed, 0);
            sealedData.CopyTo(signed, header.Length);
            byte[] signature = _signingKey.Sign(signed.AsSpan(0, header.Length + sealedData.Length));
            signature.CopyTo(signed, header.Length + sealedData.Length);
            next.CopyTo(_chainKey);
            Iteration++;
            return signed;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(messageKey);
            CryptographicOperations.ZeroMemory(next);
        }
    }

    /// <summary>State for storage (the caller encrypts it): u8 version || group id || u32 key id || u32 iteration || chain key || Ed25519 seed.</summary>
    public byte[] Serialize()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] seed = _signingKey.ExportPrivateKey();
        try
        {
            return new ByteWriter(1 + 16 + 8 + 64).WriteByte(StateVersion).WriteBytes(_groupId).WriteUInt32(KeyId).WriteUInt32(Iteration)
                .WriteBytes(_chainKey).WriteBytes(seed).ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    public static OwnSenderKey Deserialize(ReadOnlySpan<byte> state)
    {
        ByteReader reader = new(state, "own sender key state");
        reader.ExpectVersion(reader.ReadByte("version"), StateVersion);
        ReadOnlySpan<byte> groupId = reader.ReadSpan(SenderKeyLimits.GroupIdSize, "group id");
        uint keyId = reader.ReadUInt32("key id");
        uint iteration = reader.ReadUInt32("iteration");
        byte[] chainKey = reader.ReadBytes(SenderKeyKdf.KeySize, "chain key");
        ReadOnlySpan<byte> seed = reader.ReadSpan(32, "signing seed");
        reader.EnsureEnd();
        return new OwnSenderKey(groupId, keyId, iteration, chainKey, SignatureAlgorithms.Ed25519.ImportPrivateKey(seed, KeyExportPolicy.AllowExport));
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_chainKey);
        _signingKey.Dispose();
    }

    public override string ToString() => $"{nameof(OwnSenderKey)}(key {KeyId}, iteration {Iteration})";
}
