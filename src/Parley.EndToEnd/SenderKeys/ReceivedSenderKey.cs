// Another member's sender key as this device received it (PROTOCOL.md §14.5): the chain from the
// iteration it was handed over at, the sender's signing public key, and message keys derived
// ahead for messages that have not come yet. Decrypt checks the signature first (a forgery costs
// no key derivation), then derives at most MaxSkip keys ahead, and keeps any change only when the
// AEAD tag verifies: a forged, replayed or misdirected message leaves the state as it was.
using System.Security.Cryptography;
using Parley.Crypto.Signing;
using Parley.EndToEnd.Wire;

namespace Parley.EndToEnd.SenderKeys;

public sealed class ReceivedSenderKey : IDisposable
{
    public const byte StateVersion = 1;

    private readonly byte[] _groupId;
    private readonly byte[] _signingKey;
    private byte[] _chainKey;
    // Oldest first, so eviction takes from the front.
    private readonly List<(uint Iteration, byte[] Key)> _skipped = [];

    private ReceivedSenderKey(ReadOnlySpan<byte> groupId, uint keyId, uint iteration, byte[] chainKey, ReadOnlySpan<byte> signingKey)
    {
        _groupId = groupId.ToArray();
        KeyId = keyId;
        Iteration = iteration;
        _chainKey = chainKey;
        _signingKey = signingKey.ToArray();
    }

    public uint KeyId { get; }

    /// <summary>The next iteration the chain key can derive (earlier ones only from skipped keys).</summary>
    public uint Iteration { get; private set; }

    public ReadOnlySpan<byte> GroupId => _groupId;

    public ReadOnlySpan<byte> SigningPublicKey => _signingKey;

    /// <summary>Message keys held for messages not yet read (skipped over).</summary>
    public int SkippedCount => _skipped.Count;

    /// <summary>Erases the <paramref name="count"/> oldest skipped keys (their messages then read as duplicates): a bound across many keys.</summary>
    public void DropOldestSkipped(int count)
    {
        int drop = Math.Clamp(count, 0, _skipped.Count);
        for (int i = 0; i < drop; i++)
        {
            CryptographicOperations.ZeroMemory(_skipped[i].Key);
        }
        _skipped.RemoveRange(0, drop);
    }

    /// <summary>Takes a copy of what the distribution carries; the caller still owns (and disposes) it.</summary>
    public static ReceivedSenderKey From(SenderKeyDistribution distribution)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        return new ReceivedSenderKey(distribution.GroupId, distribution.KeyId, distribution.Iteration, distribution.ChainKey.ToArray(), distribution.SigningPublicKey);
    }

    /// <summary>Whether <paramref name="message"/> is for this key (group and key id); says nothing about authenticity.</summary>
    public bool Matches(SenderKeyMessage message) => message.KeyId == KeyId && message.GroupId.SequenceEqual(_groupId);

    /// <summary>Verifies and decrypts one group message; throws with the reason and changes nothing on any failure.</summary>
    public byte[] Decrypt(ReadOnlySpan<byte> encoded)
    {
        SenderKeyMessage message = SenderKeyMessage.Parse(encoded);
        if (!Matches(message))
        {
            throw new E2eProtocolException(E2eError.SessionMismatch, "the group message is for another group or sender key");
        }
        if (!SignatureAlgorithms.Ed25519.Verify(_signingKey, message.Signed, message.Signature))
        {
            throw new E2eProtocolException(E2eError.InvalidSignature, "the group message is not signed by its sender's key");
        }
        if (message.Iteration < Iteration)
        {
            uint wanted = message.Iteration;
            int index = _skipped.FindIndex(s => s.Iteration == wanted);
            if (index < 0)
            {
                throw new E2eProtocolException(E2eError.DuplicateMessage, "this group message was already read (or is older than the key)");
            }
            if (!SenderKeyKdf.TryOpen(_skipped[index].Key, message.Sealed, message.Header, out byte[] earlier))
            {
                throw new E2eProtocolException(E2eError.DecryptionFailed, "the group message did not decrypt");
            }
            CryptographicOperations.ZeroMemory(_skipped[index].Key);
            _skipped.RemoveAt(index);
            return earlier;
        }
        if ((ulong)message.Iteration - Iteration > SenderKeyLimits.MaxSkip)
        {
            throw new E2eProtocolException(E2eError.TooManySkippedMessages,
                $"the group message is {message.Iteration - Iteration} messages ahead; at most {SenderKeyLimits.MaxSkip} are derived");
        }
        // Work on copies: only a message whose tag verifies moves the chain.
        byte[] chain = _chainKey.ToArray();
        List<(uint Iteration, byte[] Key)> derived = [];
        byte[] messageKey = new byte[SenderKeyKdf.KeySize];
        byte[] next = new byte[SenderKeyKdf.KeySize];
        try
        {
            for (uint i = Iteration; ; i++)
            {
                SenderKeyKdf.ChainStep(chain, messageKey, next);
                next.CopyTo(chain, 0);
                if (i == message.Iteration)
                {
                    break;
                }
                derived.Add((i, messageKey.ToArray()));
            }
            if (!SenderKeyKdf.TryOpen(messageKey, message.Sealed, message.Header, out byte[] plaintext))
            {
                foreach ((_, byte[] key) in derived)
                {
                    CryptographicOperations.ZeroMemory(key);
                }
                CryptographicOperations.ZeroMemory(chain);
                throw new E2eProtocolException(E2eError.DecryptionFailed, "the group message did not decrypt");
            }
            CryptographicOperations.ZeroMemory(_chainKey);
            _chainKey = chain;
            Iteration = message.Iteration == uint.MaxValue ? uint.MaxValue : message.Iteration + 1;
            _skipped.AddRange(derived);
            while (_skipped.Count > SenderKeyLimits.MaxSkippedMessageKeys)
            {
                CryptographicOperations.ZeroMemory(_skipped[0].Key);
                _skipped.RemoveAt(0);
            }
            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(messageKey);
            CryptographicOperations.ZeroMemory(next);
        }
    }

    /// <summary>State for storage (the caller encrypts it): version, group id, key id, iteration, chain key, signing key, skipped keys.</summary>
    public byte[] Serialize()
    {
        ByteWriter writer = new(128 + _skipped.Count * 36);
        writer.WriteByte(StateVersion).WriteBytes(_groupId).WriteUInt32(KeyId).WriteUInt32(Iteration).WriteBytes(_chainKey).WriteBytes(_signingKey)
            .WriteUInt16((ushort)_skipped.Count);
        foreach ((uint iteration, byte[] key) in _skipped)
        {
            writer.WriteUInt32(iteration).WriteBytes(key);
        }
        return writer.ToArray();
    }

    public static ReceivedSenderKey Deserialize(ReadOnlySpan<byte> state)
    {
        ByteReader reader = new(state, "received sender key state");
        reader.ExpectVersion(reader.ReadByte("version"), StateVersion);
        ReadOnlySpan<byte> groupId = reader.ReadSpan(SenderKeyLimits.GroupIdSize, "group id");
        uint keyId = reader.ReadUInt32("key id");
        uint iteration = reader.ReadUInt32("iteration");
        byte[] chainKey = reader.ReadBytes(SenderKeyKdf.KeySize, "chain key");
        ReadOnlySpan<byte> signingKey = reader.ReadSpan(SenderKeyMessage.SigningKeySize, "signing key");
        ReceivedSenderKey key = new(groupId, keyId, iteration, chainKey, signingKey);
        ushort skipped = reader.ReadUInt16("skipped count");
        if (skipped > SenderKeyLimits.MaxSkippedMessageKeys)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "received sender key state: too many skipped keys");
        }
        for (int i = 0; i < skipped; i++)
        {
            key._skipped.Add((reader.ReadUInt32("skipped iteration"), reader.ReadBytes(SenderKeyKdf.KeySize, "skipped key")));
        }
        reader.EnsureEnd();
        return key;
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_chainKey);
        foreach ((_, byte[] key) in _skipped)
        {
            CryptographicOperations.ZeroMemory(key);
        }
        _skipped.Clear();
    }

    public override string ToString() => $"{nameof(ReceivedSenderKey)}(key {KeyId}, iteration {Iteration})";
}
