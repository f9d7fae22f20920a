using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Messaging;
using Parley.Server.Accounts;

namespace Parley.Server.Hosting;

public sealed partial record ServerOptions
{
    public string Host { get; init; } = "localhost";

    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; } = 5555;

    /// <summary>Holds the database and the server identity; created 0700 on first run.</summary>
    public string DataDirectory { get; init; } = "parley-data";

    public int PasswordIterations { get; init; } = PasswordHasher.RecommendedIterations;
    public int MaxBodyLength { get; init; } = MessengerLimits.DefaultMaxBodyLength;
    public int MaxConnectionsPerAddress { get; init; } = 256;

    /// <summary>Handshake and login together must finish within this time.</summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Issue session tickets (one per connection, to clients that ask) and resume from them
    /// without a signature (PROTOCOL.md §5.8–§5.9). Off (--no-session-tickets): every connection
    /// runs the full, signed handshake.
    /// </summary>
    public bool SessionTickets { get; init; } = true;

    /// <summary>A connection silent this long gets a ping; silent for <see cref="IdleTimeout"/>, it is closed.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// A connection silent this long gives back its AEAD cipher contexts (native OpenSSL state,
    /// ~4 KiB a connection), recreated by its next record (a few µs). Short, so that 10,000 idle
    /// connections hold none, and a login storm holds only the last couple of seconds' worth.
    /// </summary>
    public TimeSpan ReleaseIdleStateAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Once no handshake has completed for this long after some did (a login storm has passed), the
    /// keep-alive sweep gives unused memory back to the system: a full garbage collection and
    /// malloc_trim (docs/decisions/0013 §4). <see cref="Timeout.InfiniteTimeSpan"/>: never.
    /// </summary>
    public TimeSpan TrimMemoryAfterQuiet { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The least time between two memory trims (<see cref="TrimMemoryAfterQuiet"/>), however often
    /// the server falls quiet; longer after a long trim (100 times its pause), so trims take at most 1% of the time.
    /// </summary>
    public TimeSpan MinMemoryTrimInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Messages queued for one connection before live delivery to it pauses. A message that does
    /// not fit is not lost: it stays in the inbox and is re-read from the store once the
    /// connection catches up, so a stalled client never slows anyone else.
    /// </summary>
    public int OutboxCapacity { get; init; } = 1024;

    /// <summary>Requests one connection may have waiting for a commit at once (back-pressure on that client only).</summary>
    public int MaxInFlightPerConnection { get; init; } = 256;

    public IReadOnlyList<KeyAgreementAlgorithm> Groups { get; init; } = KeyAgreementAlgorithms.All;
    public IReadOnlyList<AeadAlgorithm> Suites { get; init; } = AeadAlgorithms.All;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// New connections (each one handshake) one source (<see cref="AddressBlock"/>) may open per
    /// second, as a token bucket of <see cref="HandshakeBurstPerSource"/>. Beyond it a connection
    /// is refused before any key agreement: a modp2048 handshake costs the server about 1 ms of CPU.
    /// </summary>
    public double HandshakesPerSecondPerSource { get; init; } = 20;
    public int HandshakeBurstPerSource { get; init; } = 64;

    /// <summary>Connections not yet logged in, in all and from one source (so no source can take every slot).</summary>
    public int MaxUnauthenticatedConnections { get; init; } = 1024;
    public int MaxUnauthenticatedPerSource { get; init; } = 64;

    /// <summary>Lines per second for each kind of log line an outsider can trigger; the rest are summarised.</summary>
    public int LogLinesPerSecond { get; init; } = LogRateLimiter.DefaultLinesPerSecond;

    /// <summary>
    /// Records above the record limit one connection may send after login; each is skipped unread
    /// and answered with <c>message_too_large</c>, and one more closes the connection.
    /// </summary>
    public int MaxOversizeRecordsPerConnection { get; init; } = 16;
    /// <summary>A device token unused this long stops working (the client then asks for the password).</summary>
    public TimeSpan DeviceTokenExpiry { get; init; } = DeviceTokens.DefaultExpireAfterUnused;

    /// <summary>Device tokens one account may hold; a new one evicts the least recently used beyond this.</summary>
    public int MaxDevicesPerAccount { get; init; } = DeviceTokens.DefaultMaxPerAccount;

    /// <summary>
    /// Validated device tokens kept in memory so a reconnect does not read the store (a node's own
    /// SQLite store only: with a shared store every login reads it, docs/decisions/0013). Bounded
    /// in entries and in bytes (each entry reckoned at ~300 bytes); the oldest go first.
    /// </summary>
    public int DeviceTokenCacheEntries { get; init; } = 65_536;
    public long DeviceTokenCacheBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>Password checks (PBKDF2) running at once; below the core count so delivery keeps a core.</summary>
    public int MaxConcurrentPasswordHashes { get; init; } = PasswordHasher.DefaultMaxConcurrent;

    /// <summary>New accounts one source (IPv4 address or IPv6 /64) may register per hour.</summary>
    public int RegistrationsPerSourcePerHour { get; init; } = RegistrationLimiter.DefaultPerSourcePerHour;

    /// <summary>New accounts the whole server registers per minute.</summary>
    public int RegistrationsPerMinute { get; init; } = RegistrationLimiter.DefaultPerMinute;

    /// <summary>Server-wide failed password logins per minute before unknown sources are slowed (PROTOCOL.md §11.4).</summary>
    public int LoginFailuresPerMinute { get; init; } = LoginThrottle.DefaultFailuresPerMinute;

    // ── Delivery and storage bounds (PROTOCOL.md §11.4). Each answers with its own error code. ──

    /// <summary>
    /// Message body bytes one connection may hold in memory (outbox, send batch and inbox pages
    /// read back from the store). A quarter is kept for reading the inbox back; live delivery that
    /// does not fit in the rest pauses and the message is re-read from the store later.
    /// </summary>
    public long MaxOutboxBytes { get; init; } = 4L * 1024 * 1024;

    /// <summary>Undelivered messages one recipient's inbox may hold; beyond it senders get <c>inbox_full</c>.</summary>
    public int MaxInboxMessages { get; init; } = 10_000;

    /// <summary>Body bytes one recipient's inbox may hold; beyond it senders get <c>inbox_full</c>.</summary>
    public long MaxInboxBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Undelivered messages the server holds in all; beyond it senders get <c>storage_full</c>. The
    /// SQLite store keeps an index entry in memory for each (40 – 80 bytes), so this bounds that memory
    /// (the default: 160 – 320 MB at most). A PostgreSQL store keeps none and is bounded by its disk.
    /// </summary>
    public long MaxStoredMessages { get; init; } = 4_000_000;

    /// <summary>
    /// Bytes after which the inbox log starts a new segment file (4 KiB – 1 GiB). Smaller segments
    /// are let go sooner after their messages are acknowledged, at one more file and sync each.
    /// </summary>
    public long InboxSegmentBytes { get; init; } = new Storage.Inbox.InboxLogOptions().SegmentBytes;

    /// <summary>Sustained messages per second one sender (account) may send; beyond the burst it gets <c>rate_limited</c>.</summary>
    public double SenderMessagesPerSecond { get; init; } = 100;
    public int SenderMessageBurst { get; init; } = 1_000;

    /// <summary>Sustained body bytes per second one sender may send, and the burst above it.</summary>
    public long SenderBytesPerSecond { get; init; } = 1024 * 1024;
    public long SenderByteBurst { get; init; } = 16L * 1024 * 1024;

    /// <summary>Recipients one broadcast may have; a broadcast to more online users gets <c>too_many_recipients</c>.</summary>
    public int MaxBroadcastRecipients { get; init; } = 256;

    /// <summary>Members one group may have (PROTOCOL.md §11.7); see <see cref="EffectiveMaxGroupMembers"/>.</summary>
    public int MaxGroupMembers { get; init; } = MessengerLimits.MaxGroupMembers;

    /// <summary>A group_send costs one message per member, so a group never outgrows what one send may cost: the smaller of the two.</summary>
    public int EffectiveMaxGroupMembers => Math.Min(MaxGroupMembers, SenderMessageBurst);

    /// <summary>Groups one user may be a member of; creating or being added to one more is <c>too_many_groups</c>.</summary>
    public int MaxGroupsPerUser { get; init; } = MessengerLimits.MaxGroupsPerUser;

    /// <summary>
    /// True (the default, <c>--group-adds ask</c>): a user named in a group create or add who has not allowed the actor
    /// is invited and joins only by accepting (PROTOCOL.md §11.7). False (<c>everyone</c>): everyone named is added at
    /// once, for clients from before invitations, which cannot accept one.
    /// </summary>
    public bool AskBeforeGroupAdds { get; init; } = true;

    /// <summary>The bounds on invitations and on the users one user accepts adds from (PROTOCOL.md §11.7).</summary>
    public Storage.InvitationRules GroupInvitations { get; init; } = Storage.InvitationRules.Default;

    /// <summary>Undelivered messages older than this are deleted by the periodic sweep.</summary>
    public TimeSpan MessageExpiry { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How often (on <see cref="Time"/>) expired messages are swept and idle sender rate state is dropped.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Below this much free space on the data directory's disk, new messages get <c>storage_full</c>.</summary>
    public long MinFreeDiskBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>The one shutdown grace period: how long stopping waits for connections to end on their own, and again after cancelling them.</summary>
    public TimeSpan ShutdownGracePeriod { get; init; } = DefaultShutdownGracePeriod;

    /// <summary>Default of <see cref="ShutdownGracePeriod"/>; the CLI sizes its process-termination timeout from it.</summary>
    public static readonly TimeSpan DefaultShutdownGracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Longest a whole <c>StopAsync</c> waits for connections: the grace period twice (drain, then cancel).</summary>
    public TimeSpan LongestShutdown => ShutdownGracePeriod * 2;

    /// <summary>
    /// Where accounts, devices, keys and inboxes are kept: null for the SQLite file in
    /// <see cref="DataDirectory"/> (one node), or <c>postgres://user@host:port/database</c>, shared by
    /// every node of a cluster (<c>--store</c>).
    /// </summary>
    public string? Store { get; init; }

    /// <summary>
    /// The bus between nodes: null for one node, or <c>redis://host:port[?prefix=NAME]</c> for presence
    /// and routing across nodes (<c>--bus</c>). Needs a shared <see cref="Store"/>.
    /// </summary>
    public string? Bus { get; init; }

    /// <summary>
    /// How long a starting node waits for live nodes of another store layout to go before it refuses
    /// to start (decision 0036): long enough for the entry of a node just stopped to expire.
    /// </summary>
    public TimeSpan ClusterStartPatience { get; init; } = Cluster.RedisCluster.NodeLifetime + Cluster.RedisCluster.HeartbeatInterval;

    /// <summary>The browser client and its WebSocket endpoint (<c>--web-port</c>); null serves TCP only.</summary>
    public Web.WebOptions? Web { get; init; }

    internal string IdentityPath => Path.Combine(DataDirectory, "server-identity.key");
    internal string DatabasePath => Path.Combine(DataDirectory, "parley.db");
}
