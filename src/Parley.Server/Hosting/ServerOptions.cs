using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Messaging;
using Parley.Server.Accounts;

namespace Parley.Server.Hosting;

public sealed record ServerOptions
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

    /// <summary>A connection silent this long gets a ping; silent for <see cref="IdleTimeout"/>, it is closed.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(90);

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

    /// <summary>Sustained messages per second one sender (account) may send; beyond the burst it gets <c>rate_limited</c>.</summary>
    public double SenderMessagesPerSecond { get; init; } = 100;
    public int SenderMessageBurst { get; init; } = 1_000;

    /// <summary>Sustained body bytes per second one sender may send, and the burst above it.</summary>
    public long SenderBytesPerSecond { get; init; } = 1024 * 1024;
    public long SenderByteBurst { get; init; } = 16L * 1024 * 1024;

    /// <summary>Recipients one broadcast may have; a broadcast to more online users gets <c>too_many_recipients</c>.</summary>
    public int MaxBroadcastRecipients { get; init; } = 256;

    /// <summary>Undelivered messages older than this are deleted by the periodic sweep.</summary>
    public TimeSpan MessageExpiry { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How often (on <see cref="Time"/>) expired messages are swept and idle sender rate state is dropped.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Below this much free space on the data directory's disk, new messages get <c>storage_full</c>.</summary>
    public long MinFreeDiskBytes { get; init; } = 64L * 1024 * 1024;

    internal string IdentityPath => Path.Combine(DataDirectory, "server-identity.key");
    internal string DatabasePath => Path.Combine(DataDirectory, "parley.db");
}
