// The device's end-to-end state as bytes (version 1, little-endian, for this client's own files
// only): identity, prekeys, sessions and pinned identities. E2eDeviceFile encrypts it; these
// bytes hold private keys and are wiped by the caller after use.
using System.Security.Cryptography;
using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Prekeys;
using Parley.EndToEnd.Session;

namespace Parley.Client.EndToEnd;

public sealed partial class E2eDevice
{
    // Version 2 added the next one-time key ids, so a replenished key never reuses an id handed out before.
    private const byte StateVersion = 2;

    /// <summary>Everything this device must keep to go on after a restart. Secret: wipe it when done.</summary>
    public byte[] ExportState()
    {
        lock (_lock)
        {
            using MemoryStream buffer = new();
            using BinaryWriter writer = new(buffer);
            writer.Write(StateVersion);
            writer.Write(User);
            WriteSecret(writer, _identity.ExportSigningPrivateKey());
            WriteSecret(writer, _identity.ExportAgreementPrivateKey());
            writer.Write(_signedPrekey.Id);
            WriteSecret(writer, _signedPrekey.ExportPrivateKey());
            WriteBytes(writer, _signedPrekey.Public.Signature);
            writer.Write(_lastResortKem.Id);
            WriteSecret(writer, _lastResortKem.ExportSeed());
            WriteBytes(writer, _lastResortKem.Public.Signature);
            writer.Write(_nextOneTimeId);
            writer.Write(_nextKemId);
            writer.Write(_oneTime.Count);
            foreach (OneTimePrekeyPair key in _oneTime.Values)
            {
                writer.Write(key.Id);
                WriteSecret(writer, key.ExportPrivateKey());
            }
            writer.Write(_oneTimeKem.Count);
            foreach (KemPrekeyPair key in _oneTimeKem.Values)
            {
                writer.Write(key.Id);
                WriteSecret(writer, key.ExportSeed());
                WriteBytes(writer, key.Public.Signature);
            }
            writer.Write(_sessions.Count);
            foreach (((string user, string device), E2eSession session) in _sessions)
            {
                writer.Write(user);
                writer.Write(device);
                WriteSecret(writer, session.Serialize());
            }
            writer.Write(_pinned.Count);
            foreach (((string user, string device), IdentityPublicKey identity) in _pinned)
            {
                writer.Write(user);
                writer.Write(device);
                WriteBytes(writer, identity.Encode());
                writer.Write(_trustChanged.Contains((user, device)));
            }
            writer.Flush();
            byte[] state = buffer.ToArray();
            CryptographicOperations.ZeroMemory(buffer.GetBuffer());
            return state;
        }
    }

    /// <summary>The device <see cref="ExportState"/> wrote; a malformed state is an E2eProtocolException (MalformedData), never a partial device.</summary>
    public static E2eDevice ImportState(ReadOnlySpan<byte> state)
    {
        byte[] copy = state.ToArray();
        using MemoryStream buffer = new(copy, writable: false);
        using BinaryReader reader = new(buffer);
        E2eDevice? device = null;
        try
        {
            if (reader.ReadByte() != StateVersion)
            {
                throw new E2eProtocolException(E2eError.UnsupportedVersion, "end-to-end state: unknown version");
            }
            string user = reader.ReadString();
            IdentityKeyPair identity = IdentityKeyPair.Import(ReadSecret(reader), ReadSecret(reader));
            uint spkId = reader.ReadUInt32();
            SignedPrekeyPair signed = SignedPrekeyPair.Import(identity.PublicKey, spkId, ReadSecret(reader), ReadBytes(reader));
            uint kemId = reader.ReadUInt32();
            KemPrekeyPair lastResort = KemPrekeyPair.Import(identity.PublicKey, kemId, KemPrekeyKind.LastResort, ReadSecret(reader), ReadBytes(reader));
            device = new E2eDevice(user, identity, signed, lastResort)
            {
                _nextOneTimeId = reader.ReadUInt32(),
                _nextKemId = reader.ReadUInt32(),
            };
            for (int i = ReadCount(reader); i > 0; i--)
            {
                uint id = reader.ReadUInt32();
                device._oneTime[id] = OneTimePrekeyPair.Import(id, ReadSecret(reader));
            }
            for (int i = ReadCount(reader); i > 0; i--)
            {
                uint id = reader.ReadUInt32();
                device._oneTimeKem[id] = KemPrekeyPair.Import(identity.PublicKey, id, KemPrekeyKind.OneTime, ReadSecret(reader), ReadBytes(reader));
            }
            for (int i = ReadCount(reader); i > 0; i--)
            {
                string peer = reader.ReadString();
                string peerDevice = reader.ReadString();
                device._sessions[(peer, peerDevice)] = E2eSession.Deserialize(ReadSecret(reader));
            }
            for (int i = ReadCount(reader); i > 0; i--)
            {
                string peer = reader.ReadString();
                string peerDevice = reader.ReadString();
                device._pinned[(peer, peerDevice)] = IdentityPublicKey.Decode(ReadBytes(reader));
                if (reader.ReadBoolean())
                {
                    device._trustChanged.Add((peer, peerDevice));
                }
            }
            if (buffer.Position != buffer.Length)
            {
                throw new E2eProtocolException(E2eError.MalformedData, "end-to-end state: trailing bytes");
            }
            return device;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException or ArgumentException)
        {
            device?.Dispose();
            throw new E2eProtocolException(E2eError.MalformedData, "end-to-end state: truncated or malformed");
        }
        catch
        {
            device?.Dispose();
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    /// <summary>Counts are bounded by what a device ever holds, so a corrupt count cannot make us loop for long.</summary>
    private static int ReadCount(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        return count is >= 0 and <= 100_000 ? count : throw new FormatException("count out of range");
    }

    private static void WriteSecret(BinaryWriter writer, byte[] secret)
    {
        WriteBytes(writer, secret);
        CryptographicOperations.ZeroMemory(secret);
    }

    private static void WriteBytes(BinaryWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static byte[] ReadBytes(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        if (length is < 0 or > 1 << 20)
        {
            throw new FormatException("length out of range");
        }
        byte[] bytes = reader.ReadBytes(length);
        return bytes.Length == length ? bytes : throw new EndOfStreamException();
    }

    private static byte[] ReadSecret(BinaryReader reader) => ReadBytes(reader);
}
