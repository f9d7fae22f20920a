// The key directory (PROTOCOL.md §11.5): each device publishes the public half of its end-to-end
// keys, and a sender fetches one bundle per device of the recipient before encrypting to it.
// The server never parses a key: every field is opaque bytes, bounded in size and count, so the
// end-to-end layer's encoding can change without a server change. What the server guarantees is
// the bookkeeping: each one-time prekey is handed out at most once, and running out falls back
// to the signed (last-resort) keys instead of failing.
namespace Parley.Messaging;

/// <summary>
/// Publishes this device's keys. <paramref name="IdentityKey"/> is fixed for a device: a different
/// one is refused (<c>identity_key_changed</c>); a new identity is a new device. <paramref name="SignedPrekey"/>
/// and <paramref name="LastResortKemPrekey"/> replace the stored ones when present (rotation);
/// one-time keys are added. With nothing new, the reply still says how many one-time keys are left.
/// </summary>
public sealed record PublishKeysRequest(long Ref, byte[] IdentityKey, byte[]? SignedPrekey, byte[]? LastResortKemPrekey,
    byte[][]? OneTimePrekeys, byte[][]? OneTimeKemPrekeys) : ClientMessage
{
    public override string ToString() => $"PublishKeysRequest(ref {Ref}, {OneTimePrekeys?.Length ?? 0} + {OneTimeKemPrekeys?.Length ?? 0} one-time keys)";
}

/// <summary>One-time keys this device has left on the server after the publish.</summary>
public sealed record KeysPublished(long Ref, int OneTimePrekeys, int OneTimeKemPrekeys) : ServerMessage;

/// <summary>
/// Asks for one bundle per device of <paramref name="User"/> (each takes that device's one-time keys),
/// or only for the listed <paramref name="Devices"/> (a sender that learned of a new device).
/// </summary>
public sealed record FetchBundlesRequest(long Ref, string User, string[]? Devices = null) : ClientMessage;

/// <summary>
/// One device's keys as handed to a sender. <paramref name="OneTimePrekey"/> is null when the
/// device has none left; <paramref name="KemPrekey"/> is a one-time KEM key, or the last-resort one
/// when none is left (<paramref name="KemPrekeyIsLastResort"/>).
/// </summary>
public sealed record DeviceBundle(string DeviceId, byte[] IdentityKey, byte[] SignedPrekey, byte[]? OneTimePrekey, byte[] KemPrekey, bool KemPrekeyIsLastResort);

/// <summary>The bundles of <paramref name="User"/>'s devices that have published keys.</summary>
public sealed record BundleList(long Ref, string User, DeviceBundle[] Devices) : ServerMessage;
