// The envelope, the bytes a session's Encrypt returns and Decrypt takes. Version 1:
//   u8 version = 1 || u8 type
//   type 1 (prekey message): u16 header length || PQXDH initial header || ratchet message
//   type 2 (message):        ratchet message
//   ratchet message = ratchet header (40) || AES-256-GCM ciphertext || tag (16)   (to the end)
// Parsing checks every length before reading; the ciphertext is authenticated only later, by the ratchet.
using Parley.EndToEnd.Wire;
using Parley.EndToEnd.Pqxdh;
using Parley.EndToEnd.Ratchet;

namespace Parley.EndToEnd.Session;

internal sealed class Envelope
{
    public const byte Version = 1;

    public const int MaxSize = 2 + 2 + PqxdhInitialHeader.MaxEncodedSize + RatchetHeader.EncodedSize + RatchetLimits.MaxPlaintextSize + 16;

    private Envelope(EnvelopeType type, PqxdhInitialHeader? initialHeader, RatchetHeader header, byte[] ciphertext)
    {
        Type = type;
        InitialHeader = initialHeader;
        Header = header;
        Ciphertext = ciphertext;
    }

    public EnvelopeType Type { get; }

    public PqxdhInitialHeader? InitialHeader { get; }

    public RatchetHeader Header { get; }

    public byte[] Ciphertext { get; }

    public static byte[] Encode(PqxdhInitialHeader? initialHeader, RatchetHeader header, ReadOnlySpan<byte> ciphertext)
    {
        ByteWriter writer = new(ciphertext.Length + 1600);
        writer.WriteByte(Version).WriteByte((byte)(initialHeader is null ? EnvelopeType.Message : EnvelopeType.PrekeyMessage));
        if (initialHeader is not null)
        {
            writer.WriteLengthPrefixed16(initialHeader.Encode());
        }
        return writer.WriteBytes(header.Encode()).WriteBytes(ciphertext).ToArray();
    }

    public static Envelope Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"envelope: {encoded.Length} bytes, at most {MaxSize}");
        }
        ByteReader reader = new(encoded, "envelope");
        reader.ExpectVersion(reader.ReadByte("version"), Version);
        EnvelopeType type = (EnvelopeType)reader.ReadByte("type");
        PqxdhInitialHeader? initialHeader = type switch
        {
            EnvelopeType.PrekeyMessage => PqxdhInitialHeader.Decode(reader.ReadLengthPrefixed16(PqxdhInitialHeader.MaxEncodedSize, "initial header")),
            EnvelopeType.Message => null,
            _ => throw new E2eProtocolException(E2eError.MalformedData, $"envelope: unknown type {(byte)type}"),
        };
        RatchetHeader header = RatchetHeader.Read(ref reader);
        if (reader.Remaining < 16)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "envelope: ciphertext shorter than the tag");
        }
        return new Envelope(type, initialHeader, header, reader.ReadRest().ToArray());
    }
}
