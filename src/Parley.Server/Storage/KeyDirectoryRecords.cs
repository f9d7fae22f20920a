namespace Parley.Server.Storage;

/// <summary>What one device publishes; null fields keep what is stored (see PublishKeysRequest).</summary>
public sealed record DeviceKeysUpload(string Username, string DeviceId, byte[] IdentityKey, byte[]? SignedPrekey, byte[]? LastResortKemPrekey,
    IReadOnlyList<byte[]> OneTimePrekeys, IReadOnlyList<byte[]> OneTimeKemPrekeys, long Now);

public enum PublishOutcome
{
    Stored,

    /// <summary>The device already has another identity key: nothing was stored.</summary>
    IdentityKeyChanged,

    /// <summary>The first publish of a device must carry a signed prekey and a last-resort KEM prekey.</summary>
    MissingSignedKeys,

    /// <summary>The one-time keys would exceed the per-device bound: nothing was stored.</summary>
    TooManyOneTimeKeys,
}

public readonly record struct PublishResult(PublishOutcome Outcome, int OneTimePrekeys, int OneTimeKemPrekeys);

/// <summary>One device's keys handed out: its one-time keys, if any were left, are deleted in the same transaction.</summary>
public sealed record TakenBundle(string DeviceId, byte[] IdentityKey, byte[] SignedPrekey, byte[]? OneTimePrekey, byte[] KemPrekey, bool KemPrekeyIsLastResort);
