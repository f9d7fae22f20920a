using Parley.Protocol;

namespace Parley.Transport.Channels;

public enum ChannelEventKind
{
    /// <summary>An application message arrived: <see cref="ChannelEvent.Message"/>.</summary>
    Message,

    /// <summary>The peer sent close_notify.</summary>
    Closed,

    /// <summary>A record above the limit was skipped unread (PROTOCOL.md §4): <see cref="ChannelEvent.Skipped"/>.</summary>
    OversizeRecordSkipped,
}

/// <summary>What <see cref="SecureChannel.ReceiveEventAsync"/> received.</summary>
public readonly record struct ChannelEvent(ChannelEventKind Kind, byte[]? Message, SkippedRecord Skipped)
{
    public static ChannelEvent Closed { get; } = new(ChannelEventKind.Closed, null, default);

    public static ChannelEvent MessageReceived(byte[] message) => new(ChannelEventKind.Message, message, default);

    public static ChannelEvent OversizeRecordSkipped(SkippedRecord skipped) => new(ChannelEventKind.OversizeRecordSkipped, null, skipped);
}
