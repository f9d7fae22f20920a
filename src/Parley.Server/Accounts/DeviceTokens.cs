// Device tokens let a client reconnect without the password. Each is 256 random bits, stored only
// as its SHA-256, with a short random device id that the user sees and revokes by (the id opens
// nothing). A token unused for longer than the expiry no longer works; an account keeps at most
// MaxPerAccount of them (the least recently used goes first). Last use is recorded at most once
// per LastUsedResolution per token, so a reconnecting client does not cost a disk write each time.
using System.Security.Cryptography;
using Parley.Server.Storage;

namespace Parley.Server.Accounts;

/// <summary>A new token, to be sent once to the client, and the id it is listed under.</summary>
public sealed record IssuedDeviceToken(string Token, string DeviceId);

public sealed class DeviceTokens(IMessageStore store, TimeProvider time, TimeSpan expireAfterUnused, int maxPerAccount)
{
    /// <summary>Validated tokens kept in memory (null: every login reads the store, as on a shared store).</summary>
    internal DeviceTokenCache? Cache { get; init; }

    public static readonly TimeSpan DefaultExpireAfterUnused = TimeSpan.FromDays(90);
    public const int DefaultMaxPerAccount = 16;

    /// <summary>Last-used times are this coarse: a token used again within it is not written again.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromHours(1);

    /// <summary>Random bytes in a device id (shown as lower-case hex).</summary>
    public const int DeviceIdBytes = 6;

    private const int TokenBytes = 32;
    private const int EncodedTokenLength = 43;

    public TimeSpan ExpireAfterUnused { get; } = expireAfterUnused > TimeSpan.Zero ? expireAfterUnused
        : throw new ArgumentOutOfRangeException(nameof(expireAfterUnused), "device tokens must expire after a positive time");

    public int MaxPerAccount { get; } = maxPerAccount > 0 ? maxPerAccount
        : throw new ArgumentOutOfRangeException(nameof(maxPerAccount), "an account needs room for at least one device");

    public async Task<IssuedDeviceToken> IssueAsync(string user, CancellationToken cancellationToken)
    {
        long now = Now();
        while (true)
        {
            byte[] token = RandomNumberGenerator.GetBytes(TokenBytes);
            byte[] hash = SHA256.HashData(token);
            string text = Convert.ToBase64String(token).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            CryptographicOperations.ZeroMemory(token);
            string deviceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(DeviceIdBytes));
            // A clash needs two equal random ids on one account: retry with fresh ones.
            bool added = await store.TryAddDeviceTokenAsync(hash, deviceId, user, now, MaxPerAccount, cancellationToken).ConfigureAwait(false);
            // Adding may have evicted the account's least recently used token.
            Cache?.Invalidate(user);
            if (added)
            {
                return new IssuedDeviceToken(text, deviceId);
            }
        }
    }

    /// <summary>The device <paramref name="token"/> stands for, if it is live and belongs to <paramref name="user"/>; records its use.</summary>
    public async Task<StoredDeviceToken?> ValidateAsync(string user, string token, CancellationToken cancellationToken)
    {
        byte[]? hash = HashToken(token);
        if (hash is null)
        {
            return null;
        }
        // Taken before the read: an invalidation between the read and the Put below discards the Put.
        long epoch = Cache?.Epoch ?? 0;
        StoredDeviceToken? device = Cache?.TryGet(hash) ?? await store.FindDeviceTokenAsync(hash, cancellationToken).ConfigureAwait(false);
        if (device is null || device.Username != user)
        {
            return null;
        }
        long now = Now();
        if (IsExpired(device, now))
        {
            await store.DeleteDeviceTokenAsync(device.Username, device.DeviceId, cancellationToken).ConfigureAwait(false);
            Cache?.Invalidate(device.Username);
            return null;
        }
        if (now - device.LastUsedAt >= (long)LastUsedResolution.TotalMilliseconds)
        {
            await store.TouchDeviceTokenAsync(device.Username, device.DeviceId, now, cancellationToken).ConfigureAwait(false);
            device = device with { LastUsedAt = now };
        }
        Cache?.Put(hash, device, epoch);
        return device;
    }

    /// <summary>The account's live devices, most recently used first (never more than <see cref="MaxPerAccount"/>).</summary>
    public Task<IReadOnlyList<StoredDeviceToken>> ListAsync(string user, CancellationToken cancellationToken) =>
        store.ListDeviceTokensAsync(user, Now() - (long)ExpireAfterUnused.TotalMilliseconds, MaxPerAccount, cancellationToken);

    /// <summary>
    /// The ids of every device token the account holds, used lately or not: a connection whose device
    /// is not among them was revoked (its token deleted), whether or not the word reached its node.
    /// </summary>
    public async Task<HashSet<string>> HeldDeviceIdsAsync(string user, CancellationToken cancellationToken) =>
        [.. (await store.ListDeviceTokensAsync(user, long.MinValue, int.MaxValue, cancellationToken).ConfigureAwait(false)).Select(d => d.DeviceId)];

    /// <summary>False when <paramref name="user"/> has no such device (another account's id included).</summary>
    public async Task<bool> RevokeAsync(string user, string deviceId, CancellationToken cancellationToken)
    {
        bool deleted = await store.DeleteDeviceTokenAsync(user, deviceId, cancellationToken).ConfigureAwait(false);
        Cache?.Invalidate(user);
        return deleted;
    }

    public static bool IsWellFormedDeviceId(string? deviceId) =>
        deviceId is { Length: DeviceIdBytes * 2 } && deviceId.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private bool IsExpired(StoredDeviceToken device, long now) => now - device.LastUsedAt > (long)ExpireAfterUnused.TotalMilliseconds;

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();

    private static byte[]? HashToken(string token)
    {
        if (token.Length != EncodedTokenLength)
        {
            return null;
        }
        try
        {
            byte[] raw = Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/') + "=");
            byte[]? hash = raw.Length == TokenBytes ? SHA256.HashData(raw) : null;
            CryptographicOperations.ZeroMemory(raw);
            return hash;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
