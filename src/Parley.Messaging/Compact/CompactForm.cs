// The compact form (PROTOCOL.md §11.9): the four messages every chat message costs (send, ack,
// message, send_result) as length-prefixed binary instead of JSON with base64, several to a
// record. A client asks for it at login and the server agrees in login_result; everything else
// stays JSON, and a record says which it is by its first byte (no JSON text starts with 0x01-0x04).
namespace Parley.Messaging.Compact;

public static class CompactForm
{
    /// <summary>The version of the compact form this code speaks: the number in <c>login</c>'s and <c>login_result</c>'s <c>compact</c>.</summary>
    public const int Version = 1;

    public const byte SendType = 0x01;
    public const byte AckType = 0x02;
    public const byte MessageType = 0x03;
    public const byte SendResultType = 0x04;

    /// <summary>A <c>message</c>'s flags: bit 0 is <c>broadcast</c>; the others are zero in version 1.</summary>
    internal const byte BroadcastFlag = 0x01;

    /// <summary>A <c>send_result</c>'s flags: bit 0 says a device list follows.</summary>
    internal const byte DevicesFlag = 0x01;

    internal const byte Queued = 0;
    internal const byte Delivered = 1;

    /// <summary>The version both sides speak, from what a client asked for (null: JSON only).</summary>
    public static int? Agree(int? asked) => asked is >= Version ? Version : null;

    /// <summary>True when a record holds compact messages rather than one JSON object.</summary>
    public static bool IsCompact(ReadOnlySpan<byte> payload) => payload.Length > 0 && payload[0] is >= SendType and <= SendResultType;
}
