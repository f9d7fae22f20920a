// Committed messages as they travel on the bus to the node holding their recipient: a count, then
// each message's fields, length-prefixed (BinaryWriter). Only nodes of the cluster publish on its
// channels (Redis is on the operators' network, behind its password), and a payload that does not
// parse is dropped: the recipient reads the message from the store at its next catch-up.
using Parley.Server.Storage;

namespace Parley.Server.Cluster;

internal static class BusMessages
{
    /// <summary>Body bytes in one published payload at most; a batch beyond it goes in several.</summary>
    public const int MaxPayloadBodyBytes = 1024 * 1024;

    public static byte[] Encode(IReadOnlyList<StoredMessage> messages)
    {
        using MemoryStream buffer = new();
        using (BinaryWriter writer = new(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(messages.Count);
            foreach (StoredMessage m in messages)
            {
                writer.Write(m.Id);
                writer.Write(m.Sender);
                writer.Write(m.Recipient);
                writer.Write(m.Timestamp);
                writer.Write(m.ContentType);
                writer.Write(m.Body.Length);
                writer.Write(m.Body);
                writer.Write(m.Broadcast);
                writer.Write(m.RecipientDevice);
                writer.Write(m.SenderDevice);
            }
        }
        return buffer.ToArray();
    }

    public static bool TryDecode(byte[] payload, out List<StoredMessage> messages)
    {
        messages = [];
        try
        {
            using BinaryReader reader = new(new MemoryStream(payload), System.Text.Encoding.UTF8);
            int count = reader.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                long id = reader.ReadInt64();
                string sender = reader.ReadString();
                string recipient = reader.ReadString();
                long timestamp = reader.ReadInt64();
                string contentType = reader.ReadString();
                int length = reader.ReadInt32();
                if (length < 0 || length > payload.Length)
                {
                    return false;
                }
                byte[] body = reader.ReadBytes(length);
                bool broadcast = reader.ReadBoolean();
                string recipientDevice = reader.ReadString();
                string senderDevice = reader.ReadString();
                messages.Add(new StoredMessage(id, sender, recipient, timestamp, contentType, body, broadcast, recipientDevice, senderDevice));
            }
            return true;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException)
        {
            return false;
        }
    }
}
