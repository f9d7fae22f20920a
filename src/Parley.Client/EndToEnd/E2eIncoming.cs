using Parley.EndToEnd;

namespace Parley.Client.EndToEnd;

/// <summary>
/// An end-to-end message as opened: the text, or why it could not be read (never the garbage).
/// <paramref name="From"/> and <paramref name="FromDevice"/> are the server's word for the sender.
/// </summary>
public sealed record E2eIncoming(string From, string FromDevice, string? Text, E2eError? Error, string? Reason)
{
    /// <summary>Decrypted and understood: a text (<see cref="Text"/>) or a receipt (<see cref="Receipt"/>).</summary>
    public bool Opened => Text is not null || Receipt is not null;

    /// <summary>The sender's random id for this payload (§13.10), which receipts name.</summary>
    public E2eMessageId? MessageId { get; init; }

    /// <summary>A receipt (§13.11) instead of a text: never shown as a message, never answered with a receipt.</summary>
    public E2eReceipt? Receipt { get; init; }

    /// <summary>The sender marked it, inside the encryption, as a copy of a broadcast.</summary>
    public bool Broadcast { get; init; }

    /// <summary>The first message from a device of a user who already had other devices here: tell the user.</summary>
    public bool FromNewDevice { get; init; }

    /// <summary>The sending device presents a changed identity key; the message is kept unread until the user trusts it.</summary>
    public bool HeldUntilTrusted { get; init; }

    /// <summary>A group payload (kind 5 or 6, PROTOCOL.md §14.3) that opened: for the group layer (E2eGroups), never shown.</summary>
    public byte[]? GroupPayload { get; init; }

    /// <summary>A file offer (E2E payload kind 7): its encoded bytes (Parley.EndToEnd.Files.FileOffer.Decode), and <see cref="Text"/> is empty.</summary>
    public byte[]? FileOffer { get; init; }

    /// <summary>When the server stored the message (Unix ms), for held messages opened later.</summary>
    public long Timestamp { get; init; }
}
