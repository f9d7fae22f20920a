namespace Parley.Client.EndToEnd;

/// <summary>
/// A device of <see cref="User"/> now presents another identity key than the one pinned for it.
/// Nothing is sent to it until the user accepts the new key (<see cref="E2eDevice.TrustNewIdentity"/>).
/// </summary>
public sealed class IdentityChangedException(string user, string deviceId)
    : Exception($"the identity key of {user}'s device {deviceId} changed; messages to it are held until you trust the new key")
{
    public string User { get; } = user;
    public string DeviceId { get; } = deviceId;
}
