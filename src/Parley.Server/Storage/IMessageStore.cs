namespace Parley.Server.Storage;

/// <summary>An account's stored password verifier: algorithm and parameters travel with the hash so they can be raised later.</summary>
public sealed record PasswordVerifier(string Algorithm, int Iterations, byte[] Salt, byte[] Hash);

/// <summary>
/// <paramref name="AccountId"/> is random, made at registration: a client keys what it remembers
/// about the account by it, so a wiped database and a re-registered name read as a new account.
/// </summary>
public sealed record Account(string Username, PasswordVerifier Password, long CreatedAt, string AccountId = "");

/// <summary>A device token as stored: never the token, only its hash (not exposed here) and a short random id.</summary>
public sealed record StoredDeviceToken(string DeviceId, string Username, long CreatedAt, long LastUsedAt);

/// <summary>A message before the store gives it an id.</summary>
public sealed record NewMessage(string Sender, string Recipient, long Timestamp, string ContentType, byte[] Body, bool Broadcast);

/// <summary>A committed message: <see cref="Id"/> only grows, and is never reused.</summary>
public sealed record StoredMessage(long Id, string Sender, string Recipient, long Timestamp, string ContentType, byte[] Body, bool Broadcast);

/// <summary>An acknowledged message the commit removed, with its body size (inbox quota accounting).</summary>
public readonly record struct RemovedMessage(string Recipient, long BodyBytes);

public sealed record CommitResult(IReadOnlyList<StoredMessage> Stored, IReadOnlyList<RemovedMessage> Removed);

/// <summary>What one recipient's inbox holds now.</summary>
public readonly record struct InboxUsage(int Messages, long Bytes);

/// <summary>
/// Everything the server keeps. One implementation per database (SQLite now; PostgreSQL for
/// several server nodes later); the rest of the server sees only this interface.
/// Writes that must be durable before an acknowledgement go through <see cref="CommitAsync"/>,
/// which the server calls with a whole batch (group commit).
/// </summary>
public interface IMessageStore : IAsyncDisposable
{
    Task<Account?> FindAccountAsync(string username, CancellationToken cancellationToken);

    /// <summary>False when the name was taken in the meantime.</summary>
    Task<bool> TryCreateAccountAsync(Account account, CancellationToken cancellationToken);

    Task<bool> AccountExistsAsync(string username, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: stores a device token (by its SHA-256) under <paramref name="deviceId"/>,
    /// then drops the account's least recently used tokens beyond <paramref name="maxPerAccount"/>.
    /// False (nothing stored) when the account already has a device with that id.
    /// </summary>
    Task<bool> TryAddDeviceTokenAsync(byte[] tokenHash, string deviceId, string username, long now, int maxPerAccount, CancellationToken cancellationToken);

    /// <summary>A device token by its SHA-256, or null.</summary>
    Task<StoredDeviceToken?> FindDeviceTokenAsync(byte[] tokenHash, CancellationToken cancellationToken);

    Task TouchDeviceTokenAsync(string username, string deviceId, long now, CancellationToken cancellationToken);

    /// <summary>The account's device tokens used at or after <paramref name="usedSince"/>, most recently used first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredDeviceToken>> ListDeviceTokensAsync(string username, long usedSince, int limit, CancellationToken cancellationToken);

    /// <summary>False when the account has no device with that id.</summary>
    Task<bool> DeleteDeviceTokenAsync(string username, string deviceId, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: append <paramref name="messages"/> (ids assigned in order) and delete
    /// acknowledged ones. Deleted bodies are overwritten (secure_delete), not just unlinked.
    /// </summary>
    Task<CommitResult> CommitAsync(IReadOnlyList<NewMessage> messages, IReadOnlyList<(string Recipient, long Id)> acknowledged, CancellationToken cancellationToken);

    /// <summary>
    /// Unacknowledged messages for <paramref name="recipient"/> with id above <paramref name="afterId"/>,
    /// oldest first: at most <paramref name="limit"/> messages and, beyond the first, at most
    /// <paramref name="maxBodyBytes"/> of bodies in all.
    /// </summary>
    Task<IReadOnlyList<StoredMessage>> LoadInboxAsync(string recipient, long afterId, int limit, long maxBodyBytes, CancellationToken cancellationToken);

    /// <summary>What <paramref name="recipient"/>'s inbox holds, as of the last commit.</summary>
    Task<InboxUsage> GetInboxUsageAsync(string recipient, CancellationToken cancellationToken);

    /// <summary>Deletes undelivered messages created before <paramref name="createdBefore"/> (Unix ms); returns how many.</summary>
    Task<int> DeleteExpiredAsync(long createdBefore, CancellationToken cancellationToken);

    /// <summary>Copies the log into the database and empties it, so no old copy of a deleted body stays in the log file.</summary>
    Task CheckpointAsync(CancellationToken cancellationToken);
}
