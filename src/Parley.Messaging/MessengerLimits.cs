namespace Parley.Messaging;

public static class MessengerLimits
{
    /// <summary>Default largest message body: 64 KiB.</summary>
    public const int DefaultMaxBodyLength = 64 * 1024;

    /// <summary>
    /// The record limit for messenger connections: room for a maximal body in base64 inside JSON
    /// (4/3 expansion plus the envelope), far below the channel's 1 MiB default.
    /// </summary>
    public static int RecordLimitFor(int maxBodyLength) => checked(maxBodyLength / 3 * 4 + 8 * 1024);

    public const string TextContentType = "text/plain; charset=utf-8";

    /// <summary>Longest <c>contentType</c> of a message, in UTF-16 code units (PROTOCOL.md §11).</summary>
    public const int MaxContentTypeLength = 128;

    /// <summary>
    /// Messages one compact record from a client may hold (PROTOCOL.md §11.9): each may be answered
    /// alone, so one record is at most this many answers. A client's batch of sends fits many times.
    /// </summary>
    public const int MaxCompactMessagesPerRecord = 256;

    /// <summary>
    /// Ids a client puts in one <c>ack</c> for a server of this body limit: at most
    /// <see cref="MaxAckIds"/>, and few enough that the ack fits the record limit in either form
    /// (PROTOCOL.md §11.9): a JSON id takes up to 21 bytes with its comma, a compact one 8, and 64
    /// covers the rest of either. 4096 for the default body; fewer for a server of small bodies.
    /// </summary>
    public static int AckIdsPerRecord(int maxBodyLength) => Math.Clamp((RecordLimitFor(maxBodyLength) - 64) / 21, 1, MaxAckIds);

    /// <summary>Message ids one <c>ack</c> may name (PROTOCOL.md §11); a client batches its acks up to this.</summary>
    public const int MaxAckIds = 4096;

    /// <summary>Names in one page of a <c>users</c> reply: at most 128 × 34 bytes, far below any record limit.</summary>
    public const int ListPageSize = 128;

    /// <summary>Largest public key blob in the key directory (an ML-KEM-768 encapsulation key of 1,184 bytes with its id and signature fits).</summary>
    public const int MaxPublicKeyBytes = 2048;

    /// <summary>One-time prekeys a device may hold on the server, of each kind (X25519 and ML-KEM).</summary>
    public const int MaxOneTimePrekeysPerDevice = 200;

    /// <summary>X25519 one-time prekeys in one publish: with the KEM ones below, a publish stays well inside one record.</summary>
    public const int MaxOneTimePrekeysPerPublish = 100;

    /// <summary>ML-KEM one-time prekeys in one publish (about 1.3 KB each before base64).</summary>
    public const int MaxOneTimeKemPrekeysPerPublish = 32;

    /// <summary>Devices one <c>fetch_bundles</c> may name (more than an account can have).</summary>
    public const int MaxFetchDevices = 64;

    /// <summary>Users one connection may watch for join and leave notices.</summary>
    public const int MaxWatchedUsers = 256;

    /// <summary>Members one group may have (its admins included). A group_send to a full group costs this many messages of the sender's budget.</summary>
    public const int MaxGroupMembers = 1000;

    /// <summary>Groups one user may be a member of; creating or being added to one more is <c>too_many_groups</c>.</summary>
    public const int MaxGroupsPerUser = 100;

    /// <summary>Names one group_create, group_add or group_remove may carry (a notice naming them all stays far below a record).</summary>
    public const int MaxGroupMembersPerRequest = 256;

    /// <summary>
    /// The smallest chunk an upload may declare (ciphertext: §15's 1,024 bytes of plaintext and the
    /// 16-byte tag): tiny chunks would make a row and a write per byte of a quota counted in bytes.
    /// </summary>
    public const int MinFileChunkSize = 1024 + 16;

    /// <summary>Users one upload may name as its recipients (a group's members later).</summary>
    public const int MaxFileRecipients = 256;

    /// <summary>Chunks one <c>file_download</c> may ask for: a window of at most 32 × 64 KiB held for it.</summary>
    public const int MaxDownloadWindow = 32;
}
