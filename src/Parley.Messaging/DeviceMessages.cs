// The account's devices (PROTOCOL.md §11): each device token has a short random id, never the
// token or its hash, so listing and revoking devices reveals nothing that logs in.
namespace Parley.Messaging;

/// <summary>List this account's devices (live device tokens).</summary>
public sealed record DevicesRequest(long Ref) : ClientMessage;

/// <summary>Revoke one of this account's devices: its token stops working and a connection using it is closed.</summary>
public sealed record RevokeDeviceRequest(long Ref, string DeviceId) : ClientMessage;

/// <summary>One device token: times are server Unix ms; <paramref name="Current"/> marks the device of this connection.</summary>
public sealed record DeviceInfo(string DeviceId, long CreatedAt, long LastUsedAt, bool Current);

/// <summary>The account's devices, most recently used first.</summary>
public sealed record DeviceList(long Ref, DeviceInfo[] Devices) : ServerMessage;

public sealed record DeviceRevoked(long Ref, string DeviceId) : ServerMessage;
