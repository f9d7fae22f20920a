// Groups (PROTOCOL.md §11.7). The server keeps who is in a group and who administers it; what
// members say is end to end (§14): a group_send carries ONE sender-key ciphertext that the server
// stores as an ordinary inbox row for every member, committed before the result like a send.
// Membership changes reach members the same way, as inbox rows with a content type only the
// server writes, so a member that was offline reads changes and messages in the order they happened.
namespace Parley.Messaging;

/// <summary>Creates a group named <paramref name="Group"/> (username rules) with the sender as its admin and <paramref name="Members"/> as members.</summary>
public sealed record GroupCreateRequest(long Ref, string Group, string[] Members) : ClientMessage;

/// <summary>Adds members (admins only); names already in the group are left as they are.</summary>
public sealed record GroupAddRequest(long Ref, string Group, string[] Members) : ClientMessage;

/// <summary>Removes members (admins only); a name that is not a member refuses the whole request (<c>not_a_member</c>).</summary>
public sealed record GroupRemoveRequest(long Ref, string Group, string[] Members) : ClientMessage;

/// <summary>The sender leaves the group.</summary>
public sealed record GroupLeaveRequest(long Ref, string Group) : ClientMessage;

/// <summary>Who is in the group now (members only).</summary>
public sealed record GroupMembersRequest(long Ref, string Group) : ClientMessage;

/// <summary>The groups the sender is a member of, its invitations and the users it accepts adds from.</summary>
public sealed record GroupListRequest(long Ref) : ClientMessage;

/// <summary>
/// The sender takes up its invitation to <paramref name="Group"/> and becomes a member. <paramref name="GroupId"/>, when
/// set, must be the invited group's id (from the notice or the list), so a group deleted and made again under the name
/// by someone else is not joined by mistake.
/// </summary>
public sealed record GroupAcceptRequest(long Ref, string Group, string? GroupId = null) : ClientMessage;

/// <summary>The sender turns down its invitation to <paramref name="Group"/> (of id <paramref name="GroupId"/>, when set); nobody is told.</summary>
public sealed record GroupDeclineRequest(long Ref, string Group, string? GroupId = null) : ClientMessage;

/// <summary>From now on, groups <paramref name="User"/> creates or adds the sender to take it in without an invitation.</summary>
public sealed record GroupAllowRequest(long Ref, string User) : ClientMessage;

/// <summary>From now on, <paramref name="User"/> can only invite the sender.</summary>
public sealed record GroupDisallowRequest(long Ref, string User) : ClientMessage;

/// <summary>
/// One sender-key ciphertext for every member. <paramref name="Version"/> is the membership version
/// the sender encrypted for; another one is refused (<c>stale_group_version</c>), so nothing goes
/// out under a key a removed member holds or a new member lacks.
/// </summary>
public sealed record GroupSendRequest(long Ref, string Group, long Version, byte[] Body) : ClientMessage
{
    public override string ToString() => $"GroupSendRequest(ref {Ref}, #{Group}, version {Version}, {Body.Length} bytes)";
}

/// <summary>
/// A group as it is now: <paramref name="GroupId"/> is 128 random bits (32 lower-case hex digits) made
/// at creation, <paramref name="Version"/> counts membership changes, members and admins are sorted.
/// </summary>
/// <param name="Invited">On the answer to a create or an add: the users this request invited instead of adding,
/// sorted. They had not allowed the sender, and join when they accept.</param>
/// <param name="Withdrawn">On the answer to a remove: the users whose invitation it withdrew, sorted.</param>
public sealed record GroupInfo(long Ref, string Group, string GroupId, long Version, string[] Members, string[] Admins, string[]? Invited = null,
    string[]? Withdrawn = null) : ServerMessage;

/// <summary>The sender's invitation to <paramref name="Group"/> is gone.</summary>
public sealed record GroupDeclined(long Ref, string Group) : ServerMessage;

/// <summary>Whether the sender now accepts adds from <paramref name="User"/> without an invitation.</summary>
public sealed record GroupAllowResult(long Ref, string User, bool Allowed) : ServerMessage;

/// <summary>An invitation to a group: the invitee learns the group and who invited it, not the members.</summary>
public sealed record GroupInvitation(string Group, string GroupId, string InvitedBy, long InvitedAt);

/// <summary>The sender has left <paramref name="Group"/>.</summary>
public sealed record GroupLeft(long Ref, string Group) : ServerMessage;

/// <summary>One group the sender is in.</summary>
public sealed record GroupSummary(string Group, string GroupId, long Version, int Members);

/// <param name="Invitations">The sender's live invitations, sorted by group.</param>
/// <param name="Allowed">The users the sender accepts adds from, sorted.</param>
public sealed record GroupListResult(long Ref, GroupSummary[] Groups, GroupInvitation[]? Invitations = null, string[]? Allowed = null) : ServerMessage;

/// <summary>Sent after every copy is committed; <paramref name="Recipients"/> counts the member inboxes it was stored in (a full inbox is skipped).</summary>
public sealed record GroupSendResult(long Ref, string Group, long Version, int Recipients) : ServerMessage;

/// <summary>Kinds of <see cref="GroupChange"/>.</summary>
public static class GroupChangeKinds
{
    public const string Created = "created";
    public const string Added = "added";
    public const string Removed = "removed";
    public const string Left = "left";

    /// <summary>Told only to the invitee (subjects: it); the group's version is not changed and no admin is named.</summary>
    public const string Invited = "invited";

    /// <summary>
    /// An accepted invitation reaches members as <see cref="Added"/> with the joiner as actor and only subject: clients
    /// from before invitations read it as the add it is (a kind they do not know they would take for a removal).
    /// </summary>
    public static bool IsJoin(GroupChange change) =>
        change.Change == Added && change.Subjects is [var subject] && subject == change.Actor;
}

/// <summary>
/// A membership change, stored by the server in the inbox of every member (and of each one removed)
/// as a message with <see cref="GroupContentTypes.Changed"/>. <paramref name="Subjects"/> are the users
/// the change is about (the members of a new group, those added or removed, the one who left);
/// <paramref name="Admins"/> are the admins after it. The full member list is <c>group_members</c>'s:
/// a notice stays small however large the group.
/// </summary>
public sealed record GroupChange(string Group, string GroupId, long Version, string Change, string Actor, string[] Subjects, string[] Admins);

/// <summary>Content types only the server writes (a <c>send</c> or <c>broadcast</c> using one is <c>bad_request</c>).</summary>
public static class GroupContentTypes
{
    /// <summary>A group message: its body is a sender-key message (PROTOCOL.md §14.4).</summary>
    public const string Message = "application/vnd.parley.group";

    /// <summary>A membership change: its body is a <see cref="GroupChange"/> as JSON.</summary>
    public const string Changed = "application/vnd.parley.group-changed+json";

    /// <summary>True for every content type reserved for the server's group rows.</summary>
    public static bool IsReserved(string contentType) => contentType.StartsWith(Message, StringComparison.OrdinalIgnoreCase);
}
