// A receipt's body (PROTOCOL.md §13.11): u8 type (1 delivered, 2 read) || u8 count (1 to 100) ||
// count message ids of 16 bytes, nothing after. It travels as payload kind 3, end to end like a
// text, and is never answered with a receipt. Decoding is strict: a wrong count, a trailing byte,
// an unknown type or a repeated id makes the whole receipt malformed.
namespace Parley.Client.EndToEnd;

public enum ReceiptType : byte
{
    Delivered = 1,
    Read = 2,
}

public sealed record E2eReceipt(ReceiptType Type, IReadOnlyList<E2eMessageId> MessageIds)
{
    /// <summary>Message ids one receipt names at most; more are sent as several receipts.</summary>
    public const int MaxIds = 100;

    /// <summary>Local only, never encoded: the group whose messages a receipt waiting to be sent names (batches stay per conversation).</summary>
    public string? Group { get; init; }

    public byte[] EncodeBody()
    {
        if (MessageIds.Count is 0 or > MaxIds)
        {
            throw new ArgumentOutOfRangeException(nameof(MessageIds), $"a receipt names 1 to {MaxIds} message ids");
        }
        byte[] body = new byte[2 + (MessageIds.Count * E2eMessageId.Length)];
        body[0] = (byte)Type;
        body[1] = (byte)MessageIds.Count;
        for (int i = 0; i < MessageIds.Count; i++)
        {
            MessageIds[i].Write(body.AsSpan(2 + (i * E2eMessageId.Length), E2eMessageId.Length));
        }
        return body;
    }

    /// <summary>The whole payload: kind 3 under <paramref name="id"/> (random when not given).</summary>
    public byte[] Encode(E2eMessageId? id = null) => E2ePayload.Encode(E2ePayload.Receipt, id ?? E2eMessageId.New(), EncodeBody());

    public static bool TryDecodeBody(ReadOnlySpan<byte> body, out E2eReceipt? receipt)
    {
        receipt = null;
        if (body.Length < 2 || body[0] is not ((byte)ReceiptType.Delivered or (byte)ReceiptType.Read))
        {
            return false;
        }
        int count = body[1];
        if (count is 0 or > MaxIds || body.Length != 2 + (count * E2eMessageId.Length))
        {
            return false;
        }
        E2eMessageId[] ids = new E2eMessageId[count];
        HashSet<E2eMessageId> seen = [];
        for (int i = 0; i < count; i++)
        {
            ids[i] = E2eMessageId.Read(body[(2 + (i * E2eMessageId.Length))..]);
            if (!seen.Add(ids[i]))
            {
                return false;
            }
        }
        receipt = new E2eReceipt((ReceiptType)body[0], ids);
        return true;
    }

    /// <summary>Equal when the type and the ids (in order) are.</summary>
    public bool Equals(E2eReceipt? other) => other is not null && Type == other.Type && MessageIds.SequenceEqual(other.MessageIds);

    public override int GetHashCode() => HashCode.Combine(Type, MessageIds.Count);
}
