namespace Parley.Server.Storage;

/// <summary>
/// A group as stored: <see cref="GroupId"/> is 128 random bits in lower-case hex, made at creation
/// and never reused; <see cref="Version"/> starts at 1 and grows by one with every membership
/// change; <see cref="Members"/> (admins included) and <see cref="Admins"/> are sorted ordinally.
/// </summary>
public sealed record StoredGroup(string Name, string GroupId, long Version, IReadOnlyList<string> Members, IReadOnlyList<string> Admins, long CreatedAt);

/// <summary>One group a user is in, for listing: no member names.</summary>
public sealed record GroupSummaryRow(string Name, string GroupId, long Version, int MemberCount);

/// <summary>
/// The bounds a change must keep (PROTOCOL.md §11.4), checked inside the changing transaction.
/// <see cref="Invitations"/> null: every user named becomes a member at once (the server's
/// <c>--group-adds everyone</c>); otherwise a user who has not allowed the actor is invited (§11.7).
/// </summary>
public readonly record struct GroupBounds(int MaxMembers, int MaxGroupsPerUser)
{
    public InvitationRules? Invitations { get; init; }
}

public enum GroupOutcome
{
    /// <summary>The change was stored; <see cref="GroupChangeResult.Group"/> is the group after it.</summary>
    Changed,

    /// <summary>Nothing to change (every name added was already a member); the group as it is.</summary>
    Unchanged,

    UnknownGroup,

    /// <summary>The actor is not a member, or (remove) <see cref="GroupChangeResult.Users"/> are not members.</summary>
    NotAMember,

    NotAdmin,

    /// <summary>The change would take the group past <see cref="GroupBounds.MaxMembers"/>.</summary>
    GroupFull,

    NameTaken,

    /// <summary><see cref="GroupChangeResult.Users"/> are already in <see cref="GroupBounds.MaxGroupsPerUser"/> groups.</summary>
    TooManyGroups,

    /// <summary><see cref="GroupChangeResult.Users"/> have no account.</summary>
    UnknownUsers,

    /// <summary>The user has no live invitation to the group (never invited, declined, expired, pushed out, or the group is gone).</summary>
    NotInvited,
}

/// <summary>
/// <paramref name="Users"/>: on success the users the change was about (added, removed, the one who
/// left; for a new group its members), on a refusal the users that caused it.
/// </summary>
public sealed record GroupChangeResult(GroupOutcome Outcome, StoredGroup? Group, IReadOnlyList<string> Users)
{
    /// <summary>The users this change invited instead of adding (sorted): they had not allowed the actor. Empty on a refusal.</summary>
    public IReadOnlyList<string> Invited { get; init; } = [];

    /// <summary>The users whose invitation a remove withdrew (sorted): they were invited, not members. Empty on a refusal.</summary>
    public IReadOnlyList<string> Withdrawn { get; init; } = [];

    /// <summary>Whether the change wrote anything: a membership, an invitation or a withdrawal.</summary>
    public bool Wrote => Outcome == GroupOutcome.Changed || Invited.Count > 0 || Withdrawn.Count > 0;

    public static GroupChangeResult Refused(GroupOutcome outcome, params IReadOnlyList<string> users) => new(outcome, null, users);
}

/// <summary>
/// Groups: who is in them and who administers them (PROTOCOL.md §11.7). What members say is not
/// here: group messages are ordinary inbox rows (<see cref="IMessageStore.CommitAsync"/>).
/// The contract every implementation keeps:
/// <list type="bullet">
/// <item>Each change is one transaction that checks and changes together: the actor's rights, the
/// users' accounts, both bounds, then the rows and the version. A refusal changes nothing.</item>
/// <item>A successful change adds exactly one to the group's version, serialised per group (SQLite:
/// the one writer; PostgreSQL: a lock on the group's row), so two changes never share a version.</item>
/// <item>A group always has at least one admin while it has members: when the last admin leaves, the
/// member who joined first (ties: the smallest name) becomes admin. A group whose last member leaves
/// is deleted; its name may be taken again, its id never comes back.</item>
/// <item>Names are compared exactly (callers pass canonical names, PROTOCOL.md §11.4).</item>
/// <item>With <see cref="GroupBounds.Invitations"/> set, a user named by a create or an add who has not
/// allowed the actor gets an invitation instead: no membership, no version, no place in the group bound;
/// its bounds (<see cref="InvitationRules"/>) are kept in the same transaction, by dropping the oldest.</item>
/// </list>
/// </summary>
public interface IGroupStore
{
    /// <summary>
    /// Creates <paramref name="name"/> with <paramref name="creator"/> as its only admin and
    /// <paramref name="members"/> (the creator may be among them) as members, at version 1.
    /// Refusals: <see cref="GroupOutcome.NameTaken"/>, <see cref="GroupOutcome.UnknownUsers"/>,
    /// <see cref="GroupOutcome.GroupFull"/>, <see cref="GroupOutcome.TooManyGroups"/> (the creator included).
    /// </summary>
    Task<GroupChangeResult> CreateGroupAsync(string name, string groupId, string creator, IReadOnlyCollection<string> members, long now,
        GroupBounds bounds, CancellationToken cancellationToken);

    /// <summary>
    /// An admin adds members; names already in the group are skipped (all of them: <see cref="GroupOutcome.Unchanged"/>).
    /// Refusals: <see cref="GroupOutcome.UnknownGroup"/>, <see cref="GroupOutcome.NotAMember"/> / <see cref="GroupOutcome.NotAdmin"/> (the actor),
    /// <see cref="GroupOutcome.UnknownUsers"/>, <see cref="GroupOutcome.GroupFull"/>, <see cref="GroupOutcome.TooManyGroups"/>.
    /// </summary>
    Task<GroupChangeResult> AddGroupMembersAsync(string name, string actor, IReadOnlyCollection<string> members, long now, GroupBounds bounds,
        CancellationToken cancellationToken);

    /// <summary>
    /// An admin removes members (an admin may remove another admin, or itself), and withdraws the invitations of names
    /// that are invited rather than members (<see cref="GroupChangeResult.Withdrawn"/>; only those: <see cref="GroupOutcome.Unchanged"/>).
    /// Refusals: as for adding, and <see cref="GroupOutcome.NotAMember"/> with the names that are neither members nor invited.
    /// </summary>
    Task<GroupChangeResult> RemoveGroupMembersAsync(string name, string actor, IReadOnlyCollection<string> members, CancellationToken cancellationToken);

    /// <summary><paramref name="user"/> leaves; refusals: <see cref="GroupOutcome.UnknownGroup"/>, <see cref="GroupOutcome.NotAMember"/>.</summary>
    Task<GroupChangeResult> LeaveGroupAsync(string name, string user, CancellationToken cancellationToken);

    /// <summary>The group as it is now, or null; reads only.</summary>
    Task<StoredGroup?> FindGroupAsync(string name, CancellationToken cancellationToken);

    /// <summary>The groups <paramref name="user"/> is a member of (at most the per-user bound), sorted by name; reads only.</summary>
    Task<IReadOnlyList<GroupSummaryRow>> GroupsOfAsync(string user, CancellationToken cancellationToken);

    /// <summary>
    /// <paramref name="user"/> takes up its invitation to <paramref name="name"/>: the invitation goes, the user becomes a
    /// member (version + 1; <see cref="GroupChangeResult.Users"/> = the user). It does not allow the inviter: one accepted
    /// group must not let a stranger add the user to a hundred more (that is <see cref="SetAddsAllowedAsync"/>'s). Refusals: <see cref="GroupOutcome.NotInvited"/> (also for an invitation older than
    /// <see cref="InvitationRules.Lifetime"/>), <see cref="GroupOutcome.GroupFull"/>, <see cref="GroupOutcome.TooManyGroups"/>.
    /// </summary>
    Task<GroupChangeResult> AcceptInvitationAsync(string name, string user, long now, GroupBounds bounds, CancellationToken cancellationToken);

    /// <summary>Deletes <paramref name="user"/>'s invitation to <paramref name="name"/>; false when it had no live one.</summary>
    Task<bool> DeclineInvitationAsync(string name, string user, long now, InvitationRules rules, CancellationToken cancellationToken);

    /// <summary><paramref name="user"/>'s live invitations (at most <see cref="InvitationRules.MaxPerUser"/>), sorted by group name; reads only.</summary>
    Task<IReadOnlyList<GroupInvitationRow>> InvitationsOfAsync(string user, long now, InvitationRules rules, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <paramref name="user"/> accepts adds from <paramref name="other"/> without an invitation. Allowing one more
    /// than <see cref="InvitationRules.MaxAllowed"/> drops the oldest allowed (it asks again: the safe direction).
    /// Refusal: <see cref="GroupOutcome.UnknownUsers"/> when allowing a name with no account; otherwise <see cref="GroupOutcome.Changed"/>, whether or not it was so already.
    /// </summary>
    Task<GroupOutcome> SetAddsAllowedAsync(string user, string other, bool allowed, long now, InvitationRules rules, CancellationToken cancellationToken);

    /// <summary>The users <paramref name="user"/> accepts adds from, sorted; reads only.</summary>
    Task<IReadOnlyList<string>> AddsAllowedByAsync(string user, CancellationToken cancellationToken);

    /// <summary>Those of <paramref name="users"/> who accept adds from <paramref name="actor"/> (what a change will cost depends on it); reads only.</summary>
    Task<IReadOnlySet<string>> AllowingAsync(string actor, IReadOnlyCollection<string> users, CancellationToken cancellationToken);
}
