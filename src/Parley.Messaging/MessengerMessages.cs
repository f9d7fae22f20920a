// The messenger's application protocol (PROTOCOL.md §11): one JSON object per record, with a
// "type" discriminator. The body of a chat message is opaque bytes (base64 in JSON) with a
// content type, so the end-to-end layer can later carry ciphertext with no server change.
using System.Text.Json.Serialization;

namespace Parley.Messaging;

// ── client → server ──

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(LoginRequest), "login")]
[JsonDerivedType(typeof(SendRequest), "send")]
[JsonDerivedType(typeof(BroadcastRequest), "broadcast")]
[JsonDerivedType(typeof(AckRequest), "ack")]
[JsonDerivedType(typeof(ListRequest), "list")]
[JsonDerivedType(typeof(PingMessage), "ping")]
[JsonDerivedType(typeof(PongMessage), "pong")]
[JsonDerivedType(typeof(DevicesRequest), "devices")]
[JsonDerivedType(typeof(RevokeDeviceRequest), "revoke_device")]
[JsonDerivedType(typeof(PublishKeysRequest), "publish_keys")]
[JsonDerivedType(typeof(FetchBundlesRequest), "fetch_bundles")]
[JsonDerivedType(typeof(WatchPresenceRequest), "watch_presence")]
[JsonDerivedType(typeof(GroupCreateRequest), "group_create")]
[JsonDerivedType(typeof(GroupAddRequest), "group_add")]
[JsonDerivedType(typeof(GroupRemoveRequest), "group_remove")]
[JsonDerivedType(typeof(GroupLeaveRequest), "group_leave")]
[JsonDerivedType(typeof(GroupMembersRequest), "group_members")]
[JsonDerivedType(typeof(GroupListRequest), "group_list")]
[JsonDerivedType(typeof(GroupSendRequest), "group_send")]
[JsonDerivedType(typeof(GroupAcceptRequest), "group_accept")]
[JsonDerivedType(typeof(GroupDeclineRequest), "group_decline")]
[JsonDerivedType(typeof(GroupAllowRequest), "group_allow")]
[JsonDerivedType(typeof(GroupDisallowRequest), "group_disallow")]
[JsonDerivedType(typeof(FileUploadBeginRequest), "file_upload_begin")]
[JsonDerivedType(typeof(FileChunkRequest), "file_chunk")]
[JsonDerivedType(typeof(FileUploadEndRequest), "file_upload_end")]
[JsonDerivedType(typeof(FileDownloadRequest), "file_download")]
[JsonDerivedType(typeof(FileDoneRequest), "file_done")]
public abstract record ClientMessage;

/// <summary>
/// Password login (registers a new name on first use) or device-token login.
/// <paramref name="Register"/>: whether a password login to a name the server does not know may
/// register it (true), must fail with <c>unknown_user</c> (false), or, absent (null, clients from
/// before this field), registers it as before (PROTOCOL.md §11.1). <paramref name="Compact"/>: the
/// highest version of the compact form (§11.9) the client speaks; null for JSON only.
/// </summary>
public sealed record LoginRequest(string User, string? Password, string? DeviceToken, bool? Register = null, int? Compact = null) : ClientMessage
{
    // Never print the secret fields.
    public override string ToString() => $"LoginRequest({User}, {(Password is null ? "token" : "password")})";
}

/// <summary><paramref name="Ref"/> is chosen by the client to match the <see cref="SendResult"/>.</summary>
/// <summary>
/// <paramref name="ToDevice"/>, when set, names one device of <paramref name="To"/>: only that
/// device receives the message (end-to-end ciphertexts are made per device); null for the account.
/// </summary>
public sealed record SendRequest(long Ref, string To, string ContentType, byte[] Body, string? ToDevice = null) : ClientMessage
{
    public override string ToString() => $"SendRequest(ref {Ref}, to {To}{(ToDevice is null ? "" : "/" + ToDevice)}, {ContentType}, {Body.Length} bytes)";
}

public sealed record BroadcastRequest(long Ref, string ContentType, byte[] Body) : ClientMessage
{
    public override string ToString() => $"BroadcastRequest(ref {Ref}, {ContentType}, {Body.Length} bytes)";
}

/// <summary>The client has durably processed these messages; the server may drop them from the inbox.</summary>
public sealed record AckRequest(long[] MessageIds) : ClientMessage;

/// <summary>One page of online users, those sorted after <paramref name="After"/> (from the start when null).</summary>
public sealed record ListRequest(long Ref, string? After = null) : ClientMessage;

public sealed record PingMessage : ClientMessage;

public sealed record PongMessage : ClientMessage;

// ── server → client ──

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(LoginResult), "login_result")]
[JsonDerivedType(typeof(SendResult), "send_result")]
[JsonDerivedType(typeof(BroadcastResult), "broadcast_result")]
[JsonDerivedType(typeof(UserList), "users")]
[JsonDerivedType(typeof(ChatMessage), "message")]
[JsonDerivedType(typeof(ErrorMessage), "error")]
[JsonDerivedType(typeof(ServerPing), "ping")]
[JsonDerivedType(typeof(ServerPong), "pong")]
[JsonDerivedType(typeof(DeviceList), "device_list")]
[JsonDerivedType(typeof(DeviceRevoked), "device_revoked")]
[JsonDerivedType(typeof(KeysPublished), "keys_published")]
[JsonDerivedType(typeof(BundleList), "bundles")]
[JsonDerivedType(typeof(PresenceWatched), "presence_watched")]
[JsonDerivedType(typeof(PresenceChanged), "presence")]
[JsonDerivedType(typeof(GroupInfo), "group_info")]
[JsonDerivedType(typeof(GroupLeft), "group_left")]
[JsonDerivedType(typeof(GroupListResult), "group_list_result")]
[JsonDerivedType(typeof(GroupSendResult), "group_send_result")]
[JsonDerivedType(typeof(GroupDeclined), "group_declined")]
[JsonDerivedType(typeof(GroupAllowResult), "group_allow_result")]
[JsonDerivedType(typeof(FileUploadState), "file_upload")]
[JsonDerivedType(typeof(FileUploaded), "file_uploaded")]
[JsonDerivedType(typeof(FileData), "file_data")]
[JsonDerivedType(typeof(FileDoneResult), "file_done_result")]
public abstract record ServerMessage;

/// <summary>
/// Outcome of a login. On success after a password login, <paramref name="DeviceToken"/> is a new
/// token for reconnects; <paramref name="Registered"/> says the name was new. <paramref name="Code"/>
/// says why a login failed, for programs (<see cref="ErrorCodes"/>); null on success.
/// <paramref name="AccountId"/> (on success) is random per registration, so a client can tell a
/// re-registered name (say, after the server's database was reset) from the account it knew.
/// <paramref name="MaxBodyLength"/> is the server's largest message body in bytes (0: not said,
/// assume <see cref="MessengerLimits.DefaultMaxBodyLength"/>). <paramref name="DeviceId"/>
/// names the device token this connection logged in with or was given (as in <see cref="DeviceList"/>).
/// <paramref name="Compact"/> (on success) is the version of the compact form (§11.9) this connection
/// uses from now on; null: JSON only.
/// </summary>
public sealed record LoginResult(bool Success, string User, string? DeviceToken, bool Registered, string? Error, int RetryAfterSeconds,
    string? AccountId = null, int MaxBodyLength = 0, string? DeviceId = null, string? Code = null, int? Compact = null) : ServerMessage
{
    public override string ToString() => $"LoginResult({Success}, {User}, registered {Registered}, {Code}, {Error})";
}

public static class DeliveryStatus
{
    /// <summary>The recipient was online: the message went straight to its connection (it stays stored until acknowledged).</summary>
    public const string Delivered = "delivered";

    /// <summary>The recipient was offline: the message waits in its inbox.</summary>
    public const string Queued = "queued";
}

/// <summary>
/// <paramref name="Devices"/> answers a send with <c>toDevice</c>: the recipient's devices that have
/// published end-to-end keys now, sorted, so a sender learns of a device it does not encrypt to
/// yet (or of one that is gone) without fetching keys.
/// </summary>
public sealed record SendResult(long Ref, long MessageId, string To, string Status, string[]? Devices = null) : ServerMessage;

public sealed record BroadcastResult(long Ref, int Recipients) : ServerMessage;

/// <summary>One page of online users, sorted; <paramref name="More"/> says a further page follows the last name.</summary>
public sealed record UserList(long Ref, string[] Users, bool More = false) : ServerMessage;

/// <summary>A stored message, delivered in id order per recipient. Ids only grow, so a client drops any id it has already seen.</summary>
/// <summary>
/// <paramref name="MessageId"/> is the message's place in this account's inbox; <paramref name="ToDevice"/>
/// is set when it was sent to this device alone; <paramref name="FromDevice"/> is the sender's device
/// as the server authenticated it (absent for messages stored before devices were recorded).
/// </summary>
public sealed record ChatMessage(long MessageId, string From, string To, long Timestamp, string ContentType, byte[] Body, bool Broadcast,
    string? ToDevice = null, string? FromDevice = null) : ServerMessage
{
    public override string ToString() => $"ChatMessage({MessageId}, {From} → {To}, {ContentType}, {Body.Length} bytes)";
}

/// <summary>
/// A request failed; <paramref name="Ref"/> names it (0 when it is not about one request).
/// <paramref name="RetryAfterSeconds"/> is set when the same request will succeed after waiting that long.
/// </summary>
public sealed record ErrorMessage(long Ref, string Code, string Message, int? RetryAfterSeconds = null) : ServerMessage;

public sealed record ServerPing : ServerMessage;

public sealed record ServerPong : ServerMessage;

public static class ErrorCodes
{
    public const string UnknownRecipient = "unknown_recipient";
    public const string MessageTooLarge = "message_too_large";
    public const string InvalidUsername = "invalid_username";
    public const string BadRequest = "bad_request";
    public const string NotLoggedIn = "not_logged_in";
    public const string LoggedInElsewhere = "logged_in_elsewhere";
    public const string ServerShuttingDown = "server_shutting_down";
    public const string LoginTimeout = "login_timeout";
    public const string Internal = "internal_error";
    public const string UnknownDevice = "unknown_device";
    public const string DeviceRevoked = "device_revoked";

    // login_result codes (PROTOCOL.md §11.2). Only invalid_token means "forget the stored token".
    public const string InvalidCredentials = "invalid_credentials";
    public const string InvalidToken = "invalid_token";
    public const string RateLimited = "rate_limited";
    public const string WeakPassword = "weak_password";
    public const string RegistrationLimited = "registration_limited";

    /// <summary>A login with <c>register: false</c> named an account that does not exist.</summary>
    public const string UnknownUser = "unknown_user";
    public const string InboxFull = "inbox_full";
    public const string StorageFull = "storage_full";

    /// <summary>The shared store (PostgreSQL, several nodes) cannot be reached: nothing was stored; try again (PROTOCOL.md §11.4).</summary>
    public const string StorageUnavailable = "storage_unavailable";
    public const string TooManyRecipients = "too_many_recipients";
    public const string ReplyTooLarge = "reply_too_large";
    public const string IdentityKeyChanged = "identity_key_changed";
    public const string TooManyKeys = "too_many_keys";

    // Groups (PROTOCOL.md §11.7).
    public const string UnknownGroup = "unknown_group";
    public const string NotAMember = "not_a_member";
    public const string NotAdmin = "not_admin";
    public const string GroupFull = "group_full";
    public const string GroupExists = "group_exists";
    public const string TooManyGroups = "too_many_groups";
    public const string InvalidGroupName = "invalid_group_name";
    public const string StaleGroupVersion = "stale_group_version";

    /// <summary>group_accept or group_decline without a live invitation (never invited, declined, expired, pushed out by newer ones, or the group is gone).</summary>
    public const string NotInvited = "not_invited";

    // Files (PROTOCOL.md §11.8).
    public const string UnknownFile = "unknown_file";
    public const string FileTooLarge = "file_too_large";
    public const string TooManyUploads = "too_many_uploads";
    public const string FileIncomplete = "file_incomplete";
}
