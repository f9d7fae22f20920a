using Parley.Messaging;

namespace Parley.Client.EndToEnd.Groups;

/// <summary>What an incoming group row or sender key meant.</summary>
public enum GroupEventKind
{
    /// <summary>Nothing to show: our own echo, a sender key stored, a repeat.</summary>
    None,

    /// <summary>A group message that opened: <see cref="GroupEvent.Text"/>.</summary>
    Message,

    /// <summary>A membership change: <see cref="GroupEvent.Change"/>.</summary>
    Changed,

    /// <summary>A group message or notice that could not be read: <see cref="GroupEvent.Reason"/>; never shown as text.</summary>
    Failed,
}

/// <summary>
/// <paramref name="Group"/> is the group's name (empty when this device does not know the group);
/// <paramref name="From"/> and <paramref name="FromDevice"/> are the server's word for the sender, the
/// signature under the sender key proves it for a message.
/// </summary>
public sealed record GroupEvent(GroupEventKind Kind, string Group, string From, string FromDevice, long Timestamp)
{
    public string? Text { get; init; }

    /// <summary>A file offered to the group (its encoded §15.2 offer) instead of a text.</summary>
    public byte[]? FileOffer { get; init; }

    /// <summary>The sender's 16-byte id of the message (for receipts).</summary>
    public E2eMessageId? MessageId { get; init; }

    public GroupChange? Change { get; init; }

    public string? Reason { get; init; }

    /// <summary>
    /// A message this device had no sender key for: whether it asks the sending device for its key now
    /// (PROTOCOL.md §14.3), asked it lately and waits for the answer, or could not ask (the rate is spent).
    /// </summary>
    public SenderKeyAsk KeyAsk { get; init; }

    /// <summary>The sending device is being asked for its key now (<see cref="KeyAsk"/>).</summary>
    public bool KeyRequested => KeyAsk == SenderKeyAsk.Asked;

    /// <summary>This device was removed from the group (or left it): its keys for the group are gone.</summary>
    public bool WeLeft { get; init; }

    public static GroupEvent None(ChatMessage message) => new(GroupEventKind.None, "", message.From, message.FromDevice ?? "", message.Timestamp);
}

/// <summary>What a group send did: how many member inboxes stored it, and to whom the new sender key could not go.</summary>
public sealed record GroupSent(string Group, int Recipients, bool Rotated, IReadOnlyList<string> Unreachable);
