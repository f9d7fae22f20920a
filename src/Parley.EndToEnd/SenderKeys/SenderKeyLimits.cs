// The sender-key layer's named bounds (PROTOCOL.md §14.6). Each says what happens past it.
namespace Parley.EndToEnd.SenderKeys;

public static class SenderKeyLimits
{
    /// <summary>Bytes of a group id (the server's 128-bit groupId).</summary>
    public const int GroupIdSize = 16;

    /// <summary>
    /// The most message keys one incoming group message may make a receiver derive ahead in a
    /// chain. A message further ahead is refused with <see cref="E2eError.TooManySkippedMessages"/>
    /// and changes nothing: it bounds the work one message can cause.
    /// </summary>
    public const int MaxSkip = 1000;

    /// <summary>Skipped message keys kept per received sender key; past it the oldest is erased (its message reads as a duplicate).</summary>
    public const int MaxSkippedMessageKeys = 2000;

    /// <summary>The largest plaintext one group message carries.</summary>
    public const int MaxPlaintextSize = 256 * 1024;
}
