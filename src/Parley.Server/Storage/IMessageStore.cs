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

/// <summary>
/// A message before the store gives it an id. <paramref name="RecipientDevice"/> is empty for a
/// message to the account (every device may take it) or names the one device it is for;
/// <paramref name="SenderDevice"/> is the device the sender logged in with (the server's word,
/// so a recipient knows which end-to-end session a message belongs to).
/// </summary>
public sealed record NewMessage(string Sender, string Recipient, long Timestamp, string ContentType, byte[] Body, bool Broadcast, string RecipientDevice = "", string SenderDevice = "");

/// <summary>
/// A committed message. <see cref="Id"/> is its place in <see cref="Recipient"/>'s inbox: assigned
/// inside the committing transaction from that recipient's own sequence, so per recipient ids
/// grow in commit order and are never reused, whatever other recipients' transactions do.
/// </summary>
public sealed record StoredMessage(long Id, string Sender, string Recipient, long Timestamp, string ContentType, byte[] Body, bool Broadcast, string RecipientDevice = "", string SenderDevice = "");

/// <summary>An acknowledgement: <paramref name="Device"/> may remove its own messages and the account's, never another device's.</summary>
public readonly record struct InboxAck(string Recipient, string Device, long Id);

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
    /// In one transaction: append <paramref name="messages"/> and delete acknowledged ones.
    /// The delivery-cursor contract every implementation keeps: each message's id is the next
    /// value of its recipient's own sequence, taken inside this transaction under a lock on that
    /// recipient (SQLite: the single writer; PostgreSQL: the recipient's sequence row), so a
    /// reader that has seen id n of a recipient has seen every committed id below n. Ids are
    /// never reused, even after the messages are deleted. Deleted bodies are overwritten
    /// (secure_delete), not just unlinked.
    /// </summary>
    Task<CommitResult> CommitAsync(IReadOnlyList<NewMessage> messages, IReadOnlyList<InboxAck> acknowledged, CancellationToken cancellationToken);

    /// <summary>
    /// Unacknowledged messages <paramref name="device"/> of <paramref name="recipient"/> may take
    /// (the account's and its own) with id above <paramref name="afterId"/>, oldest first: at most
    /// <paramref name="limit"/> messages and, beyond the first, at most <paramref name="maxBodyBytes"/>
    /// of bodies in all.
    /// </summary>
    Task<IReadOnlyList<StoredMessage>> LoadInboxAsync(string recipient, string device, long afterId, int limit, long maxBodyBytes, CancellationToken cancellationToken);

    /// <summary>True when <paramref name="username"/> has a live device <paramref name="deviceId"/>.</summary>
    Task<bool> DeviceExistsAsync(string username, string deviceId, CancellationToken cancellationToken);

    /// <summary>What <paramref name="recipient"/>'s inbox holds, as of the last commit.</summary>
    Task<InboxUsage> GetInboxUsageAsync(string recipient, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes undelivered messages created before <paramref name="createdBefore"/> (Unix ms), and
    /// those for a device that no longer exists; returns how many.
    /// </summary>
    Task<int> DeleteExpiredAsync(long createdBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Copies the log into the database and empties it, so no old copy of a deleted body stays in
    /// the log file. Called by the sweep beside the writer's commits, never inside its loop.
    /// </summary>
    Task CheckpointAsync(CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: checks the device's identity key (fixed once published), replaces its
    /// signed keys when given, and adds its one-time keys, at most <paramref name="maxOneTimePerKind"/>
    /// of each kind held in all. Any refusal stores nothing.
    /// </summary>
    Task<PublishResult> PublishDeviceKeysAsync(DeviceKeysUpload upload, int maxOneTimePerKind, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: one bundle per live device of <paramref name="username"/> that has
    /// published keys, each with one of its one-time keys of each kind, which are deleted (handed
    /// out exactly once); with none left, no X25519 one-time key and the last-resort KEM key.
    /// <paramref name="exceptDevice"/> (the fetching device, when it fetches its own account) is
    /// left out, so a device never uses up its own keys. With <paramref name="onlyDevices"/>, only
    /// those devices (the others keep their one-time keys).
    /// </summary>
    Task<IReadOnlyList<TakenBundle>> TakeBundlesAsync(string username, string? exceptDevice, IReadOnlyCollection<string>? onlyDevices, CancellationToken cancellationToken);

    /// <summary>The devices of <paramref name="username"/> whose keys <see cref="TakeBundlesAsync"/> would hand out, sorted; reads only.</summary>
    Task<IReadOnlyList<string>> KeyedDevicesAsync(string username, CancellationToken cancellationToken);
}
