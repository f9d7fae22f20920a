// Groups from a logged-in connection (PROTOCOL.md §11.7). Membership lives in the store's
// IGroupStore; messages and membership notices are ordinary inbox rows, queued under the group's
// lock (StoreWriter.GroupOrder) so each member reads them in the order the server decided them,
// and answered only after they are committed. With a store several nodes share, the group's
// cluster-wide lock (IGroupOrderLock) is held too, until the rows are committed. Every request
// costs from the sender's budget: a change one message per notice it stores, a group_send one
// message and one body per member.
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Parley.Messaging;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

public sealed partial class ClientConnection
{
    private static bool IsGroupRequest(ClientMessage request) =>
        request is GroupCreateRequest or GroupAddRequest or GroupRemoveRequest or GroupLeaveRequest or GroupMembersRequest or GroupListRequest or GroupSendRequest
            or GroupAcceptRequest or GroupDeclineRequest or GroupAllowRequest or GroupDisallowRequest;

    /// <summary>ChangeGroupAsync's kind for an accepted invitation; members are told of it as an add (GroupChangeKinds.IsJoin).</summary>
    private const string Accepting = "accepting";

    private GroupBounds Bounds => new(_options.EffectiveMaxGroupMembers, _options.MaxGroupsPerUser)
    {
        Invitations = _options.AskBeforeGroupAdds ? _options.GroupInvitations : null,
    };

    private async Task HandleGroupRequestAsync(ClientMessage request, CancellationToken cancellationToken)
    {
        long reference = RefOf(request);
        if (_store is not IGroupStore groups)
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.BadRequest, "this server keeps no groups")).ConfigureAwait(false);
            return;
        }
        await AnswerStoreFailureAsync(reference, "changing or reading a group", request switch
        {
            GroupCreateRequest r => () => ChangeGroupAsync(groups, r.Ref, r.Group, r.Members, GroupChangeKinds.Created, cancellationToken),
            GroupAddRequest r => () => ChangeGroupAsync(groups, r.Ref, r.Group, r.Members, GroupChangeKinds.Added, cancellationToken),
            GroupRemoveRequest r => () => ChangeGroupAsync(groups, r.Ref, r.Group, r.Members, GroupChangeKinds.Removed, cancellationToken),
            GroupLeaveRequest r => () => ChangeGroupAsync(groups, r.Ref, r.Group, [], GroupChangeKinds.Left, cancellationToken),
            GroupMembersRequest r => () => GroupMembersAsync(groups, r, cancellationToken),
            GroupListRequest r => () => GroupListAsync(groups, r, cancellationToken),
            GroupSendRequest r => () => GroupSendAsync(groups, r, cancellationToken),
            GroupAcceptRequest r => () => ChangeGroupAsync(groups, r.Ref, r.Group, [], Accepting, cancellationToken, r.GroupId),
            GroupDeclineRequest r => () => DeclineInvitationAsync(groups, r, cancellationToken),
            GroupAllowRequest r => () => AllowAddsAsync(groups, r.Ref, r.User, allowed: true, cancellationToken),
            GroupDisallowRequest r => () => AllowAddsAsync(groups, r.Ref, r.User, allowed: false, cancellationToken),
            _ => () => Task.CompletedTask,
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// With a store several nodes share, the group's cluster-wide lock (IGroupOrderLock), taken inside
    /// this node's: one node's queue orders only its own rows, so across nodes the rows must be
    /// committed before the next node decides. Null on a store of one node.
    /// </summary>
    private static async Task<IAsyncDisposable?> LockAcrossNodesAsync(IGroupStore groups, string group, CancellationToken cancellationToken) =>
        groups is IGroupOrderLock cluster ? await cluster.LockGroupAsync(group, cancellationToken).ConfigureAwait(false) : null;

    /// <summary>Under a cluster-wide lock, waits until the queued rows are committed (or failed: their answer reports that).</summary>
    private static async Task SettledIfAcrossNodesAsync(IAsyncDisposable? acrossNodes, List<Task<AppendResult>> rows)
    {
        if (acrossNodes is not null)
        {
            await Task.WhenAll(rows.Cast<Task>()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<string?> GroupNameAsync(long reference, string? name)
    {
        if (name is not null && Usernames.TryNormalize(name, out string group, out _))
        {
            return group;
        }
        await ReplyAsync(new ErrorMessage(reference, ErrorCodes.InvalidGroupName,
            "a group name follows the username rules: 1 to 32 of a-z 0-9 . _ - (ASCII), starting with a letter or digit")).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// Takes <paramref name="messages"/> from the sender's budget, or says why not. Pure of I/O: it
    /// runs under a group's lock, and an answer must never wait there for this client's outbox.
    /// </summary>
    private ErrorMessage? TakeGroupBudget(long reference, int messages, long bytes, string what)
    {
        if (_diskSpace.IsLow)
        {
            return new ErrorMessage(reference, ErrorCodes.StorageFull, "the server is low on disk space and takes no new messages or changes; nothing was stored");
        }
        if (!_rateLimiter.CanEverAllow(messages, bytes))
        {
            return new ErrorMessage(reference, ErrorCodes.RateLimited,
                $"{what} costs {messages} messages and {bytes} bytes, more than this server accepts from one sender at once " +
                $"({_options.SenderMessageBurst} messages, {_options.SenderByteBurst} bytes)");
        }
        if (!_rateLimiter.TryTake(User, messages, bytes, out TimeSpan retryAfter))
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            return new ErrorMessage(reference, ErrorCodes.RateLimited, $"you are sending too fast; try again in {seconds} s", seconds);
        }
        return null;
    }

    private async Task<bool> TakeGroupBudgetAsync(long reference, int messages, long bytes, string what)
    {
        if (TakeGroupBudget(reference, messages, bytes, what) is { } refusal)
        {
            await ReplyAsync(refusal).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    private async Task ChangeGroupAsync(IGroupStore groups, long reference, string? name, string[]? names, string kind, CancellationToken cancellationToken,
        string? invitedGroupId = null)
    {
        if (await GroupNameAsync(reference, name).ConfigureAwait(false) is not { } group)
        {
            return;
        }
        if (names is null || names.Length > MessengerLimits.MaxGroupMembersPerRequest || (kind is GroupChangeKinds.Added or GroupChangeKinds.Removed && names.Length == 0))
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.BadRequest,
                $"a group request names 1 to {MessengerLimits.MaxGroupMembersPerRequest} members (group_create: 0 to {MessengerLimits.MaxGroupMembersPerRequest})")).ConfigureAwait(false);
            return;
        }
        List<string> users = [];
        foreach (string candidate in names)
        {
            string nameError = "a member name is missing";
            if (candidate is null || !Usernames.TryNormalize(candidate, out string user, out nameError))
            {
                await ReplyAsync(new ErrorMessage(reference, ErrorCodes.InvalidUsername, nameError)).ConfigureAwait(false);
                return;
            }
            users.Add(user);
        }
        // Every request pays before the store is read, so refused ones (not_admin, unknown_group …) are not free to repeat.
        if (!await TakeGroupBudgetAsync(reference, 1, 0, "a group change").ConfigureAwait(false))
        {
            return;
        }
        long now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        List<Task<AppendResult>> notices = [];
        GroupChangeResult result;
        // Nothing under the lock waits for this client: a refusal is answered after it is released.
        ErrorMessage? refusal;
        using (await _writer.GroupOrder.LockAsync(group, cancellationToken).ConfigureAwait(false))
        {
            await using IAsyncDisposable? acrossNodes = await LockAcrossNodesAsync(groups, group, cancellationToken).ConfigureAwait(false);
            StoredGroup? before = kind == GroupChangeKinds.Created ? null : await groups.FindGroupAsync(group, cancellationToken).ConfigureAwait(false);
            // Who may not make this change is told so before it pays for notices, so no refusal (nor the retry time of a
            // rate_limited) tells an outsider the group's size. The store checks again in its transaction.
            GroupChangeResult? early = RefuseOutsider(before, kind) ?? AlreadyJoined(before, kind, invitedGroupId);
            refusal = early is null && kind == Accepting
                ? await RefuseAcceptAsync(groups, reference, group, before, invitedGroupId, now, cancellationToken).ConfigureAwait(false) : null;
            // The change stores one notice per member (and per member removed), and one per invitation: pay for as many as it
            // may store first, and get back what it did not (a name that joined rather than was invited is one notice, not two).
            int invitable = early is null && _options.AskBeforeGroupAdds && kind is GroupChangeKinds.Created or GroupChangeKinds.Added
                ? users.Count - (await groups.AllowingAsync(User, users, cancellationToken).ConfigureAwait(false)).Count : 0;
            int charged = early is null && refusal is null ? NoticeCost(before, users.Count - invitable, invitable, kind) : 0;
            refusal ??= early is null ? TakeGroupBudget(reference, charged, 0, "this change") : null;
            result = refusal is not null ? GroupChangeResult.Refused(GroupOutcome.Unchanged) : early ?? kind switch
            {
                GroupChangeKinds.Created => await groups.CreateGroupAsync(group, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), User, users, now, Bounds, cancellationToken).ConfigureAwait(false),
                GroupChangeKinds.Added => await groups.AddGroupMembersAsync(group, User, users, now, Bounds, cancellationToken).ConfigureAwait(false),
                GroupChangeKinds.Removed => await groups.RemoveGroupMembersAsync(group, User, users, cancellationToken).ConfigureAwait(false),
                // Invitations made while the server asked stay good after a switch to --group-adds everyone.
                Accepting => await groups.AcceptInvitationAsync(group, User, now, Bounds with { Invitations = _options.GroupInvitations }, cancellationToken).ConfigureAwait(false),
                _ => await groups.LeaveGroupAsync(group, User, cancellationToken).ConfigureAwait(false),
            };
            if (result.Outcome == GroupOutcome.Changed)
            {
                StoredGroup after = result.Group!;
                string toldAs = kind == Accepting ? GroupChangeKinds.Added : kind;
                byte[] body = MessengerCodec.EncodeGroupChange(new GroupChange(after.Name, after.GroupId, after.Version, toldAs, User, [.. result.Users], [.. after.Admins]));
                // Those removed (or leaving) hear of it too, so each of their devices drops the group.
                IEnumerable<string> told = kind is GroupChangeKinds.Removed or GroupChangeKinds.Left ? after.Members.Union(result.Users, StringComparer.Ordinal) : after.Members;
                foreach (string member in told)
                {
                    notices.Add(await _writer.EnqueueAsync(new NewMessage(User, member, now, GroupContentTypes.Changed, body, Broadcast: false, SenderDevice: DeviceId),
                        cancellationToken).ConfigureAwait(false));
                }
            }
            // Each invitee alone hears of its invitation: the group and who asks, not the members or the admins.
            foreach (string invitee in result.Invited)
            {
                StoredGroup g = result.Group!;
                byte[] body = MessengerCodec.EncodeGroupChange(new GroupChange(g.Name, g.GroupId, g.Version, GroupChangeKinds.Invited, User, [invitee], []));
                notices.Add(await _writer.EnqueueAsync(new NewMessage(User, invitee, now, GroupContentTypes.Changed, body, Broadcast: false, SenderDevice: DeviceId),
                    cancellationToken).ConfigureAwait(false));
            }
            // Paid for what it stored: a refusal gets its notices' charge back (its request's one message stays), and a change
            // that stored more than the burst let it pay up front owes the rest.
            if (refusal is null)
            {
                _rateLimiter.GiveBack(User, charged - notices.Count);
                _rateLimiter.TakeOwed(User, notices.Count - charged);
            }
            await SettledIfAcrossNodesAsync(acrossNodes, notices).ConfigureAwait(false);
        }
        await ReplyAsync(refusal ?? await GroupReplyAsync(reference, group, kind, result, notices).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>
    /// Notices a change may store, as messages of the sender's budget: one per member after it (at most a full group) and
    /// one per invitation (<paramref name="invitable"/>: names that have not allowed the sender; invitees take no place in
    /// the group, so the group's size does not cap them). Up front at most what a full bucket holds beside the request's
    /// own message, so every change the bounds allow can be made; what it stores beyond that is owed afterwards.
    /// </summary>
    private int NoticeCost(StoredGroup? before, int joining, int invitable, string kind)
    {
        int members = Math.Min(_options.EffectiveMaxGroupMembers, (before?.Members.Count ?? 1) + joining + (kind == Accepting ? 1 : 0));
        return Math.Min(_options.SenderMessageBurst - 1, members + invitable);
    }

    /// <summary>An add, remove or leave by someone who is not a member (or not an admin) of the group as it is, or of no group: the refusal.</summary>
    private GroupChangeResult? RefuseOutsider(StoredGroup? group, string kind) => kind switch
    {
        GroupChangeKinds.Added or GroupChangeKinds.Removed or GroupChangeKinds.Left when group is null => GroupChangeResult.Refused(GroupOutcome.UnknownGroup),
        GroupChangeKinds.Added or GroupChangeKinds.Removed or GroupChangeKinds.Left when !group.Members.Contains(User, StringComparer.Ordinal) =>
            GroupChangeResult.Refused(GroupOutcome.NotAMember, User),
        GroupChangeKinds.Added or GroupChangeKinds.Removed when !group.Admins.Contains(User, StringComparer.Ordinal) => GroupChangeResult.Refused(GroupOutcome.NotAdmin, User),
        _ => null,
    };

    /// <summary>
    /// An accept by a member of that very group: the group as it is, so an accept retried after its answer was lost
    /// gets the group rather than not_invited. No change, no notice.
    /// </summary>
    private GroupChangeResult? AlreadyJoined(StoredGroup? group, string kind, string? invitedGroupId) =>
        kind == Accepting && group is not null && group.Members.Contains(User, StringComparer.Ordinal) && (invitedGroupId is null || invitedGroupId == group.GroupId)
            ? new GroupChangeResult(GroupOutcome.Unchanged, group, []) : null;

    /// <summary>Why this user cannot accept an invitation to <paramref name="group"/>, or null: it holds a live one, to this very group.</summary>
    private async Task<ErrorMessage?> RefuseAcceptAsync(IGroupStore groups, long reference, string group, StoredGroup? now, string? invitedGroupId, long at,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<GroupInvitationRow> invitations = await groups.InvitationsOfAsync(User, at, _options.GroupInvitations, cancellationToken).ConfigureAwait(false);
        bool invited = now is not null && invitations.Any(i => i.Group == group && i.GroupId == now.GroupId && (invitedGroupId is null || invitedGroupId == now.GroupId));
        return invited ? null : NotInvited(reference, group);
    }

    private static ErrorMessage NotInvited(long reference, string group) =>
        new(reference, ErrorCodes.NotInvited, $"you have no invitation to '{group}' (declined, expired, or the group is gone or is another one now)");

    private async Task<ServerMessage> GroupReplyAsync(long reference, string group, string kind, GroupChangeResult result, List<Task<AppendResult>> notices)
    {
        string names = string.Join(", ", result.Users.Take(8)) + (result.Users.Count > 8 ? $" and {result.Users.Count - 8} more" : "");
        switch (result.Outcome)
        {
            case GroupOutcome.Changed or GroupOutcome.Unchanged:
                // Committed before the answer, like a send: a member that reads the answer can count on the notices.
                try
                {
                    await Task.WhenAll(notices.Select(IgnoreFullInbox)).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    _logger.LogError(e, "Storing the notices of a change to a group failed");
                    return new ErrorMessage(reference, ErrorCodes.Internal,
                        $"the change to '{group}' was made, but its notices could not be stored; members learn of it from group_members");
                }
                StoredGroup g = result.Group!;
                return kind == GroupChangeKinds.Left ? new GroupLeft(reference, group)
                    : new GroupInfo(reference, g.Name, g.GroupId, g.Version, [.. g.Members], [.. g.Admins], result.Invited.Count == 0 ? null : [.. result.Invited],
                        result.Withdrawn.Count == 0 ? null : [.. result.Withdrawn]);
            case GroupOutcome.NotInvited:
                return NotInvited(reference, group);
            case GroupOutcome.UnknownGroup:
                return new ErrorMessage(reference, ErrorCodes.UnknownGroup, $"there is no group '{group}'");
            case GroupOutcome.NotAMember when result.Users.Contains(User, StringComparer.Ordinal) && kind != GroupChangeKinds.Removed:
            case GroupOutcome.NotAMember when result.Users.Count == 1 && result.Users[0] == User:
                return new ErrorMessage(reference, ErrorCodes.NotAMember, $"you are not a member of '{group}'");
            case GroupOutcome.NotAMember:
                return new ErrorMessage(reference, ErrorCodes.NotAMember, $"not members of '{group}': {names}; nothing was changed");
            case GroupOutcome.NotAdmin:
                return new ErrorMessage(reference, ErrorCodes.NotAdmin, $"only an admin of '{group}' may add or remove members");
            case GroupOutcome.GroupFull:
                return new ErrorMessage(reference, ErrorCodes.GroupFull, $"a group has at most {_options.EffectiveMaxGroupMembers} members; nothing was changed");
            case GroupOutcome.NameTaken:
                return new ErrorMessage(reference, ErrorCodes.GroupExists, $"there is already a group '{group}'");
            case GroupOutcome.TooManyGroups when kind == Accepting:
                return new ErrorMessage(reference, ErrorCodes.TooManyGroups,
                    $"you are already in {_options.MaxGroupsPerUser} groups, the most one user may be in: leave one first");
            case GroupOutcome.TooManyGroups:
                return new ErrorMessage(reference, ErrorCodes.TooManyGroups,
                    $"already in {_options.MaxGroupsPerUser} groups, the most one user may be in: {names}; nothing was changed");
            default:
                return new ErrorMessage(reference, ErrorCodes.UnknownRecipient, $"no such users: {names}; nothing was changed");
        }
    }

    private async Task GroupMembersAsync(IGroupStore groups, GroupMembersRequest request, CancellationToken cancellationToken)
    {
        if (await GroupNameAsync(request.Ref, request.Group).ConfigureAwait(false) is not { } name
            || !await TakeGroupBudgetAsync(request.Ref, 1, 0, "group_members").ConfigureAwait(false))
        {
            return;
        }
        StoredGroup? group = await groups.FindGroupAsync(name, cancellationToken).ConfigureAwait(false);
        ServerMessage reply = group is null ? new ErrorMessage(request.Ref, ErrorCodes.UnknownGroup, $"there is no group '{name}'")
            : !group.Members.Contains(User, StringComparer.Ordinal) ? new ErrorMessage(request.Ref, ErrorCodes.NotAMember, $"you are not a member of '{name}'")
            : new GroupInfo(request.Ref, group.Name, group.GroupId, group.Version, [.. group.Members], [.. group.Admins]);
        await ReplyAsync(reply).ConfigureAwait(false);
    }

    private async Task GroupListAsync(IGroupStore groups, GroupListRequest request, CancellationToken cancellationToken)
    {
        if (!await TakeGroupBudgetAsync(request.Ref, 1, 0, "group_list").ConfigureAwait(false))
        {
            return;
        }
        IReadOnlyList<GroupSummaryRow> rows = await groups.GroupsOfAsync(User, cancellationToken).ConfigureAwait(false);
        long now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        IReadOnlyList<GroupInvitationRow> invitations = await groups.InvitationsOfAsync(User, now, _options.GroupInvitations, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> allowed = await groups.AddsAllowedByAsync(User, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(new GroupListResult(request.Ref, [.. rows.Select(r => new GroupSummary(r.Name, r.GroupId, r.Version, r.MemberCount))],
            [.. invitations.Select(i => new GroupInvitation(i.Group, i.GroupId, i.InvitedBy, i.InvitedAt))], [.. allowed])).ConfigureAwait(false);
    }

    private async Task DeclineInvitationAsync(IGroupStore groups, GroupDeclineRequest request, CancellationToken cancellationToken)
    {
        if (await GroupNameAsync(request.Ref, request.Group).ConfigureAwait(false) is not { } name
            || !await TakeGroupBudgetAsync(request.Ref, 1, 0, "group_decline").ConfigureAwait(false))
        {
            return;
        }
        long now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        bool declined = false;
        // Under the group's lock, so the id checked is the id of the invitation declined.
        using (await _writer.GroupOrder.LockAsync(name, cancellationToken).ConfigureAwait(false))
        {
            await using IAsyncDisposable? acrossNodes = await LockAcrossNodesAsync(groups, name, cancellationToken).ConfigureAwait(false);
            bool same = request.GroupId is null || (await groups.FindGroupAsync(name, cancellationToken).ConfigureAwait(false))?.GroupId == request.GroupId;
            declined = same && await groups.DeclineInvitationAsync(name, User, now, _options.GroupInvitations, cancellationToken).ConfigureAwait(false);
        }
        await ReplyAsync(declined ? new GroupDeclined(request.Ref, name) : NotInvited(request.Ref, name)).ConfigureAwait(false);
    }

    private async Task AllowAddsAsync(IGroupStore groups, long reference, string? other, bool allowed, CancellationToken cancellationToken)
    {
        string nameError = "a user name is missing";
        if (other is null || !Usernames.TryNormalize(other, out string user, out nameError))
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.InvalidUsername, nameError)).ConfigureAwait(false);
            return;
        }
        if (!await TakeGroupBudgetAsync(reference, 1, 0, allowed ? "group_allow" : "group_disallow").ConfigureAwait(false))
        {
            return;
        }
        long now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        GroupOutcome outcome = await groups.SetAddsAllowedAsync(User, user, allowed, now, _options.GroupInvitations, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(outcome == GroupOutcome.UnknownUsers ? new ErrorMessage(reference, ErrorCodes.UnknownRecipient, $"no such user: {user}")
            : new GroupAllowResult(reference, user, allowed)).ConfigureAwait(false);
    }

    private async Task GroupSendAsync(IGroupStore groups, GroupSendRequest send, CancellationToken cancellationToken)
    {
        if (await GroupNameAsync(send.Ref, send.Group).ConfigureAwait(false) is not { } name
            || !await CheckBodyAsync(send.Ref, send.Body, GroupContentTypes.Message, byServer: true).ConfigureAwait(false))
        {
            return;
        }
        // Every request pays before the store is read, so refused ones (stale_group_version …) are not free to repeat.
        if (!await TakeGroupBudgetAsync(send.Ref, 1, 0, "a group message").ConfigureAwait(false))
        {
            return;
        }
        long now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        List<Task<AppendResult>> copies = [];
        long version = 0;
        // Nothing under the lock waits for this client: a refusal is answered after it is released.
        ErrorMessage? refusal;
        using (await _writer.GroupOrder.LockAsync(name, cancellationToken).ConfigureAwait(false))
        {
            await using IAsyncDisposable? acrossNodes = await LockAcrossNodesAsync(groups, name, cancellationToken).ConfigureAwait(false);
            StoredGroup? group = await groups.FindGroupAsync(name, cancellationToken).ConfigureAwait(false);
            refusal = group is null ? new ErrorMessage(send.Ref, ErrorCodes.UnknownGroup, $"there is no group '{name}'")
                : !group.Members.Contains(User, StringComparer.Ordinal) ? new ErrorMessage(send.Ref, ErrorCodes.NotAMember, $"you are not a member of '{name}'")
                : group.Version != send.Version ? new ErrorMessage(send.Ref, ErrorCodes.StaleGroupVersion,
                    $"'{name}' is at version {group.Version}, not {send.Version}: read group_members, renew the sender key and send again")
                // One copy per member, the sender's own account included (its other devices read it too).
                : TakeGroupBudget(send.Ref, group.Members.Count, (long)group.Members.Count * send.Body.Length, "a message to this group");
            if (refusal is null)
            {
                version = group!.Version;
                foreach (string member in group.Members)
                {
                    copies.Add(await _writer.EnqueueAsync(new NewMessage(User, member, now, GroupContentTypes.Message, send.Body, Broadcast: false, SenderDevice: DeviceId),
                        cancellationToken).ConfigureAwait(false));
                }
            }
            await SettledIfAcrossNodesAsync(acrossNodes, copies).ConfigureAwait(false);
        }
        if (refusal is not null)
        {
            await ReplyAsync(refusal).ConfigureAwait(false);
            return;
        }
        try
        {
            await Task.WhenAll(copies.Select(IgnoreFullInbox)).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _logger.LogError(e, "Storing a group message from {User} failed", User);
            await ReplyAsync(new ErrorMessage(send.Ref, ErrorCodes.Internal, "the server could not store the group message")).ConfigureAwait(false);
            return;
        }
        await ReplyAsync(new GroupSendResult(send.Ref, name, version, copies.Count(c => c.IsCompletedSuccessfully))).ConfigureAwait(false);
    }
}
