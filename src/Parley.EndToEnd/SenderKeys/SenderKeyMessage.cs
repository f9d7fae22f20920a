// One group message as the server fans it out (PROTOCOL.md §14.4), version 1:
//   header = u8 version = 1 || group id (16) || u32 key id || u32 iteration      (25 bytes)
//   message = header || AES-256-GCM(ciphertext || tag, AD = header) || Ed25519 signature (64) over everything before it
// The signature is what stops one member from forging another's messages: every member holds the
// chain key, only the sender holds the signing key.
using Parley.EndToEnd.Wire;

namespace Parley.EndToEnd.SenderKeys;

public readonly ref struct SenderKeyMessage
{
    public const byte Version = 1;
    public const int HeaderSize = 1 + SenderKeyLimits.GroupIdSize + 4 + 4;
    public const int SigningKeySize = 32;
    public const int SignatureSize = 64;
    public const int TagSize = 16;

    /// <summary>The smallest message: a header, an empty plaintext's tag and the signature.</summary>
    public const int MinSize = HeaderSize + TagSize + SignatureSize;

    private SenderKeyMessage(ReadOnlySpan<byte> whole)
    {
        Header = whole[..HeaderSize];
        GroupId = whole.Slice(1, SenderKeyLimits.GroupIdSize);
        ByteReader reader = new(whole.Slice(1 + SenderKeyLimits.GroupIdSize, 8), "group message");
        KeyId = reader.ReadUInt32("key id");
        Iteration = reader.ReadUInt32("iteration");
        Sealed = whole[HeaderSize..^SignatureSize];
        Signed = whole[..^SignatureSize];
        Signature = whole[^SignatureSize..];
    }

    public ReadOnlySpan<byte> Header { get; }

    public ReadOnlySpan<byte> GroupId { get; }

    public uint KeyId { get; }

    public uint Iteration { get; }

    /// <summary>AES-256-GCM ciphertext || tag.</summary>
    internal ReadOnlySpan<byte> Sealed { get; }

    internal ReadOnlySpan<byte> Signed { get; }

    internal ReadOnlySpan<byte> Signature { get; }

    /// <summary>Reads the framing only (nothing is verified yet): version, length, group id, key id, iteration.</summary>
    public static SenderKeyMessage Parse(ReadOnlySpan<byte> message)
    {
        if (message.Length < MinSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"group message: {message.Length} bytes, at least {MinSize} needed");
        }
        if (message.Length > MinSize + SenderKeyLimits.MaxPlaintextSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "group message: longer than the largest plaintext allows");
        }
        if (message[0] != Version)
        {
            throw new E2eProtocolException(E2eError.UnsupportedVersion, $"group message version {message[0]}, expected {Version}");
        }
        return new SenderKeyMessage(message);
    }

    internal static byte[] EncodeHeader(ReadOnlySpan<byte> groupId, uint keyId, uint iteration) =>
        new ByteWriter(HeaderSize).WriteByte(Version).WriteBytes(groupId).WriteUInt32(keyId).WriteUInt32(iteration).ToArray();
}
