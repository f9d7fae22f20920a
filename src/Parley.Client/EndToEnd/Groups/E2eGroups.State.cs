// The groups' state at rest (the client's own format, not the wire's): this device's sender keys,
// the keys members handed it and what it knows of each membership, in one value that the device
// database seals like its other rows (docs/decisions/0006). Version 1:
//   u8 version || i32 groups || per group: id, name, i64 version, membersKnown, stale,
//   members, hasOurKey, [own sender key state] || i32 slots || per slot: group id, user, device,
//   i64 stored-at, i32 keys, received sender key states
// Strings are BinaryWriter's (length-prefixed UTF-8). Reading checks every count and fails closed.
using System.Security.Cryptography;
using Parley.EndToEnd;
using Parley.EndToEnd.SenderKeys;

namespace Parley.Client.EndToEnd.Groups;

public sealed partial class E2eGroups
{
    private const byte StateVersion = 1;

    /// <summary>Groups kept at most in a saved state (far above the server's per-user bound).</summary>
    private const int MaxSavedGroups = 10_000;

    /// <summary>The state to keep; the caller encrypts it, stores it and wipes it.</summary>
    public byte[] Export()
    {
        using MemoryStream buffer = new();
        try
        {
            using (BinaryWriter writer = new(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                lock (_lock)
                {
                    writer.Write(StateVersion);
                    writer.Write(_byId.Count);
                    foreach (GroupState group in _byId.Values)
                    {
                        writer.Write(group.Id);
                        writer.Write(group.Name);
                        writer.Write(group.Version);
                        writer.Write(group.MembersKnown);
                        writer.Write(group.Stale);
                        WriteNames(writer, group.Members);
                        WriteNames(writer, group.HasOurKey);
                        writer.Write(group.Own is not null);
                        if (group.Own is not null)
                        {
                            WriteSecret(writer, group.Own.Serialize());
                        }
                    }
                    writer.Write(_received.Count);
                    foreach (((string groupId, string user, string device), List<ReceivedSenderKey> keys) in _received)
                    {
                        writer.Write(groupId);
                        writer.Write(user);
                        writer.Write(device);
                        writer.Write(_receivedAt.GetValueOrDefault((groupId, user, device)));
                        writer.Write(keys.Count);
                        foreach (ReceivedSenderKey key in keys)
                        {
                            WriteSecret(writer, key.Serialize());
                        }
                    }
                }
            }
            return buffer.ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer.GetBuffer());
        }
    }

    /// <summary>The groups of <paramref name="device"/> as <see cref="Export"/> kept them.</summary>
    /// <exception cref="E2eProtocolException">The state is malformed.</exception>
    public static E2eGroups Import(E2eDevice device, byte[] state, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        E2eGroups groups = new(device, time);
        try
        {
            using BinaryReader reader = new(new MemoryStream(state, writable: false), System.Text.Encoding.UTF8);
            if (reader.ReadByte() != StateVersion)
            {
                throw new E2eProtocolException(E2eError.UnsupportedVersion, "group state of an unknown version");
            }
            int count = Count(reader, MaxSavedGroups);
            for (int i = 0; i < count; i++)
            {
                GroupState group = new(reader.ReadString(), reader.ReadString())
                {
                    Version = reader.ReadInt64(),
                    MembersKnown = reader.ReadBoolean(),
                    Stale = reader.ReadBoolean(),
                };
                group.Members.UnionWith(ReadNames(reader));
                group.HasOurKey.UnionWith(ReadNames(reader));
                if (reader.ReadBoolean())
                {
                    group.Own = OwnSenderKey.Deserialize(ReadSecret(reader));
                }
                groups._byId[group.Id] = group;
            }
            int slots = Count(reader, MaxReceivedKeys);
            for (int i = 0; i < slots; i++)
            {
                (string, string, string) slot = (reader.ReadString(), reader.ReadString(), reader.ReadString());
                long storedAt = reader.ReadInt64();
                int keys = Count(reader, KeysPerSenderDevice);
                List<ReceivedSenderKey> list = [];
                for (int k = 0; k < keys; k++)
                {
                    list.Add(ReceivedSenderKey.Deserialize(ReadSecret(reader)));
                }
                groups._received[slot] = list;
                groups._receivedAt[slot] = storedAt;
                groups._stored = Math.Max(groups._stored, storedAt);
            }
            if (reader.BaseStream.Position != state.Length)
            {
                throw new E2eProtocolException(E2eError.MalformedData, "group state: trailing bytes");
            }
            return groups;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException)
        {
            groups.Dispose();
            throw new E2eProtocolException(E2eError.MalformedData, "group state is truncated or malformed");
        }
        catch
        {
            groups.Dispose();
            throw;
        }
    }

    private static void WriteNames(BinaryWriter writer, HashSet<string> names)
    {
        writer.Write(names.Count);
        foreach (string name in names)
        {
            writer.Write(name);
        }
    }

    private static List<string> ReadNames(BinaryReader reader)
    {
        int count = Count(reader, 100_000);
        List<string> names = new(Math.Min(count, 1024));
        for (int i = 0; i < count; i++)
        {
            names.Add(reader.ReadString());
        }
        return names;
    }

    private static void WriteSecret(BinaryWriter writer, byte[] secret)
    {
        writer.Write(secret.Length);
        writer.Write(secret);
        CryptographicOperations.ZeroMemory(secret);
    }

    private static byte[] ReadSecret(BinaryReader reader)
    {
        int length = Count(reader, 1 << 20);
        byte[] secret = reader.ReadBytes(length);
        return secret.Length == length ? secret : throw new EndOfStreamException();
    }

    private static int Count(BinaryReader reader, int max)
    {
        int count = reader.ReadInt32();
        return count >= 0 && count <= max ? count : throw new E2eProtocolException(E2eError.MalformedData, $"group state: a count of {count} (at most {max})");
    }
}
