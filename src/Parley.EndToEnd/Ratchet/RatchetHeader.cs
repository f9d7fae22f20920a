// The Double Ratchet message header (rev 4 §3.1): our current ratchet public key, PN (messages
// in our previous sending chain) and N (this message's number). Fixed 40 bytes:
//   ratchet key (32) || u32 PN || u32 N     (big-endian)
// It travels in clear and is authenticated as part of the AEAD's associated data.
using Parley.EndToEnd.Wire;
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Ratchet;

public sealed class RatchetHeader
{
    public const int EncodedSize = X25519Keys.KeySize + 4 + 4;

    private readonly byte[] _ratchetKey;

    public RatchetHeader(ReadOnlySpan<byte> ratchetKey, uint previousChainLength, uint messageNumber)
    {
        if (ratchetKey.Length != X25519Keys.KeySize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "ratchet header: wrong key length");
        }
        _ratchetKey = ratchetKey.ToArray();
        PreviousChainLength = previousChainLength;
        MessageNumber = messageNumber;
    }

    public ReadOnlySpan<byte> RatchetKey => _ratchetKey;

    /// <summary>PN.</summary>
    public uint PreviousChainLength { get; }

    /// <summary>N.</summary>
    public uint MessageNumber { get; }

    public byte[] Encode() => new ByteWriter(EncodedSize).WriteBytes(_ratchetKey).WriteUInt32(PreviousChainLength).WriteUInt32(MessageNumber).ToArray();

    public static RatchetHeader Decode(ReadOnlySpan<byte> encoded)
    {
        ByteReader reader = new(encoded, "ratchet header");
        RatchetHeader header = Read(ref reader);
        reader.EnsureEnd();
        return header;
    }

    internal static RatchetHeader Read(ref ByteReader reader) =>
        new(reader.ReadSpan(X25519Keys.KeySize, "ratchet key"), reader.ReadUInt32("PN"), reader.ReadUInt32("N"));

    public override string ToString() => $"{nameof(RatchetHeader)}(PN {PreviousChainLength}, N {MessageNumber})";
}
