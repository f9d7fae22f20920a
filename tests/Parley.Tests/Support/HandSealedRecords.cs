using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Parley.Protocol.Handshake;

namespace Parley.Tests.Support;

/// <summary>
/// Seals aes-256-gcm records by hand, from PROTOCOL.md §5.5 and §6 alone, for a peer that sends
/// what our SecureSession never does (KeyUpdate records in a row). It starts from the sender's
/// current traffic secret and sequence and follows each KeyUpdate to the next secret.
/// </summary>
internal sealed class HandSealedRecords(byte[] secret, ulong sequence)
{
    private byte[] _secret = (byte[])secret.Clone();
    private ulong _sequence = sequence;

    /// <summary>The frame (length, type, ciphertext) of one record, then the sender's next state.</summary>
    public byte[] Seal(MessageType type, ReadOnlySpan<byte> payload)
    {
        byte[] key = Expand(_secret, "parley/1 key", 32);
        byte[] nonce = Expand(_secret, "parley/1 iv", 12);
        BinaryPrimitives.WriteUInt64BigEndian(nonce.AsSpan(4), BinaryPrimitives.ReadUInt64BigEndian(nonce.AsSpan(4)) ^ _sequence);
        int bodyLength = 1 + payload.Length + 16;
        byte[] frame = new byte[4 + bodyLength];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)bodyLength);
        frame[4] = (byte)type;
        using (AesGcm aes = new(key, 16))
        {
            aes.Encrypt(nonce, payload, frame.AsSpan(5, payload.Length), frame.AsSpan(5 + payload.Length, 16), frame.AsSpan(0, 5));
        }
        if (type == MessageType.KeyUpdate)
        {
            _secret = Expand(_secret, "parley/1 key update", 32);
            _sequence = 0;
        }
        else
        {
            _sequence++;
        }
        return frame;
    }

    /// <summary><paramref name="count"/> KeyUpdate records, one after the other.</summary>
    public byte[] KeyUpdates(int count)
    {
        using MemoryStream frames = new();
        for (int i = 0; i < count; i++)
        {
            frames.Write(Seal(MessageType.KeyUpdate, []));
        }
        return frames.ToArray();
    }

    private static byte[] Expand(byte[] secret, string label, int length)
    {
        byte[] result = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, secret, result, Encoding.ASCII.GetBytes(label));
        return result;
    }
}
