// The device's end-to-end state as bytes (version 3, little-endian, for this client's own files
// only): identity, prekeys, sessions and pinned identities. E2eDeviceFile encrypts it; these
// bytes hold private keys and are wiped by the caller after use.
using System.Security.Cryptography;
using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Prekeys;
using Parley.EndToEnd.Session;
using Parley.Messaging;

namespace Parley.Client.EndToEnd;

public sealed partial class E2eDevice
{
    // Version 2 added the next one-time key ids, so a replenished key never reuses an id handed out
    // before. Version 3 added the signed prekeys' age and the retired ones, several sessions per
    // peer device, and the messages held until a changed identity is trusted. Version 2 still loads.
    private const byte StateVersion = 3;
    private const byte StateVersion2 = 2;

    /// <summary>Everything this device must keep to go on after a restart. Secret: wipe it when done.</summary>
    public byte[] ExportState() => Export(withSessions: true);

    /// <summary>The state without the sessions, which a database keeps one row per peer device (<see cref="TakeSessionChanges"/>).</summary>
    public byte[] ExportCore() => Export(withSessions: false);

    private byte[] Export(bool withSessions)
    {
        lock (_lock)
        {
            using MemoryStream buffer = new();
            using BinaryWriter writer = new(buffer);
            writer.Write(StateVersion);
            writer.Write(User);
            WriteSecret(writer, _identity.ExportSigningPrivateKey());
            WriteSecret(writer, _identity.ExportAgreementPrivateKey());
            WriteSignedPrekey(writer, _signedPrekey);
            WriteKemPrekey(writer, _lastResortKem);
            writer.Write(_signedPrekeysMadeAt.ToUnixTimeMilliseconds());
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
                WriteKemPrekey(writer, key);
            }
            writer.Write(_retired.Count);
            foreach (RetiredPrekeys retired in _retired)
            {
                WriteSignedPrekey(writer, retired.Signed);
                WriteKemPrekey(writer, retired.LastResort);
                writer.Write(retired.RetiredAt.ToUnixTimeMilliseconds());
            }
            // Least recently used first, so the import rebuilds the same order for the cap.
            writer.Write(withSessions ? _sessions.Count : 0);
            foreach (((string user, string device), PeerSessions sessions) in withSessions ? _sessions.OrderBy(s => s.Value.LastUsed) : Enumerable.Empty<KeyValuePair<(string User, string Device), PeerSessions>>())
            {
                writer.Write(user);
                writer.Write(device);
                WriteSessions(writer, sessions);
            }
            writer.Write(_pinned.Count);
            foreach (((string user, string device), IdentityPublicKey identity) in _pinned)
            {
                writer.Write(user);
                writer.Write(device);
                WriteBytes(writer, identity.Encode());
                writer.Write(_trustChanged.Contains((user, device)));
            }
            writer.Write(_held.Count);
            foreach (ChatMessage held in _held)
            {
                writer.Write(held.MessageId);
                writer.Write(held.From);
                writer.Write(held.FromDevice ?? "");
                writer.Write(held.To);
                writer.Write(held.Timestamp);
                WriteBytes(writer, held.Body);
            }
            writer.Flush();
            byte[] state = buffer.ToArray();
            CryptographicOperations.ZeroMemory(buffer.GetBuffer());
            return state;
        }
    }

    /// <summary>The device <see cref="ExportState"/> wrote; a malformed state is an E2eProtocolException (MalformedData), never a partial device.</summary>
    public static E2eDevice ImportState(ReadOnlySpan<byte> state, TimeProvider? clock = null)
    {
        clock ??= TimeProvider.System;
        byte[] copy = state.ToArray();
        using MemoryStream buffer = new(copy, writable: false);
        using BinaryReader reader = new(buffer);
        E2eDevice? device = null;
        try
        {
            byte version = reader.ReadByte();
            if (version is not (StateVersion or StateVersion2))
            {
                throw new E2eProtocolException(E2eError.UnsupportedVersion, "end-to-end state: unknown version");
            }
            string user = reader.ReadString();
            IdentityKeyPair identity = IdentityKeyPair.Import(ReadSecret(reader), ReadSecret(reader));
            SignedPrekeyPair signed = ReadSignedPrekey(reader, identity.PublicKey);
            KemPrekeyPair lastResort = ReadKemPrekey(reader, identity.PublicKey, KemPrekeyKind.LastResort);
            // A version-2 device never rotated: its keys count as made now, so the first rotation is a week away.
            DateTimeOffset madeAt = version == StateVersion ? DateTimeOffset.FromUnixTimeMilliseconds(reader.ReadInt64()) : clock.GetUtcNow();
            device = new E2eDevice(user, identity, signed, lastResort, madeAt, clock)
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
                KemPrekeyPair key = ReadKemPrekey(reader, identity.PublicKey, KemPrekeyKind.OneTime);
                device._oneTimeKem[key.Id] = key;
            }
            if (version == StateVersion)
            {
                for (int i = ReadCount(reader); i > 0; i--)
                {
                    SignedPrekeyPair oldSigned = ReadSignedPrekey(reader, identity.PublicKey);
                    KemPrekeyPair oldLastResort = ReadKemPrekey(reader, identity.PublicKey, KemPrekeyKind.LastResort);
                    device._retired.Add(new RetiredPrekeys(oldSigned, oldLastResort, DateTimeOffset.FromUnixTimeMilliseconds(reader.ReadInt64())));
                }
            }
            for (int i = ReadCount(reader); i > 0; i--)
            {
                string peer = reader.ReadString();
                string peerDevice = reader.ReadString();
                device.AddSessions(peer, peerDevice, ReadSessions(reader, version == StateVersion ? ReadCount(reader) : 1));
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
            if (version == StateVersion)
            {
                for (int i = ReadCount(reader); i > 0; i--)
                {
                    long id = reader.ReadInt64();
                    string from = reader.ReadString();
                    string fromDevice = reader.ReadString();
                    string to = reader.ReadString();
                    long timestamp = reader.ReadInt64();
                    device.Hold(new ChatMessage(id, from, to, timestamp, ContentType, ReadBytes(reader), false, null, fromDevice));
                }
            }
            if (buffer.Position != buffer.Length)
            {
                throw new E2eProtocolException(E2eError.MalformedData, "end-to-end state: trailing bytes");
            }
            // Every session counts as changed: a database that takes this device stores them all.
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

    /// <summary>
    /// The peer devices whose sessions changed since the last call, each with its sessions' bytes
    /// (secret: wipe them) or null when the peer device's sessions were deleted.
    /// </summary>
    public IReadOnlyList<(PeerDevice Peer, long LastUsed, byte[]? Sessions)> TakeSessionChanges()
    {
        lock (_lock)
        {
            List<(PeerDevice, long, byte[]?)> changes = [];
            foreach ((string user, string device) in _dirtySessions)
            {
                if (_sessions.TryGetValue((user, device), out PeerSessions? sessions))
                {
                    using MemoryStream buffer = new();
                    using BinaryWriter writer = new(buffer);
                    WriteSessions(writer, sessions);
                    writer.Flush();
                    changes.Add((new PeerDevice(user, device), sessions.LastUsed, buffer.ToArray()));
                    CryptographicOperations.ZeroMemory(buffer.GetBuffer());
                }
                else
                {
                    changes.Add((new PeerDevice(user, device), 0, null));
                }
            }
            _dirtySessions.Clear();
            return changes;
        }
    }

    /// <summary>A device from <see cref="ExportCore"/> and its stored sessions, least recently used first.</summary>
    public static E2eDevice ImportState(ReadOnlySpan<byte> core, IEnumerable<(PeerDevice Peer, byte[] Sessions)> sessions, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        E2eDevice device = ImportState(core, clock);
        try
        {
            foreach ((PeerDevice peer, byte[] stored) in sessions)
            {
                using MemoryStream buffer = new(stored, writable: false);
                using BinaryReader reader = new(buffer);
                device.AddSessions(peer.User, peer.DeviceId, ReadSessions(reader, ReadCount(reader)));
                if (buffer.Position != buffer.Length)
                {
                    throw new FormatException("trailing bytes after sessions");
                }
            }
            device._dirtySessions.Clear();
            return device;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException or ArgumentException)
        {
            device.Dispose();
            throw new E2eProtocolException(E2eError.MalformedData, "end-to-end sessions: truncated or malformed");
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    private static void WriteSessions(BinaryWriter writer, PeerSessions sessions)
    {
        E2eSession[] all = [.. sessions.All];
        writer.Write(all.Length);
        foreach (E2eSession session in all)
        {
            WriteSecret(writer, session.Serialize());
        }
    }

    private static PeerSessions ReadSessions(BinaryReader reader, int count)
    {
        List<E2eSession> sessions = [];
        try
        {
            for (int j = 0; j < count; j++)
            {
                sessions.Add(E2eSession.Deserialize(ReadSecret(reader)));
            }
        }
        catch
        {
            sessions.ForEach(s => s.Dispose());
            throw;
        }
        return sessions.Count > 0 ? PeerSessions.FromStored(sessions) : throw new FormatException("a peer device without sessions");
    }

    private static void WriteSignedPrekey(BinaryWriter writer, SignedPrekeyPair key)
    {
        writer.Write(key.Id);
        WriteSecret(writer, key.ExportPrivateKey());
        WriteBytes(writer, key.Public.Signature);
    }

    private static SignedPrekeyPair ReadSignedPrekey(BinaryReader reader, IdentityPublicKey owner)
    {
        uint id = reader.ReadUInt32();
        return SignedPrekeyPair.Import(owner, id, ReadSecret(reader), ReadBytes(reader));
    }

    private static void WriteKemPrekey(BinaryWriter writer, KemPrekeyPair key)
    {
        writer.Write(key.Id);
        WriteSecret(writer, key.ExportSeed());
        WriteBytes(writer, key.Public.Signature);
    }

    private static KemPrekeyPair ReadKemPrekey(BinaryReader reader, IdentityPublicKey owner, KemPrekeyKind kind)
    {
        uint id = reader.ReadUInt32();
        return KemPrekeyPair.Import(owner, id, kind, ReadSecret(reader), ReadBytes(reader));
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
