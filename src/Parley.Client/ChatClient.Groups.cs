// The group requests (PROTOCOL.md §11.7). Membership is the server's; what is said in a group is
// end to end, so GroupSendAsync takes a sender-key ciphertext made by the caller (E2eGroups).
using Parley.Messaging;

namespace Parley.Client;

public sealed partial class ChatClient
{
    public async Task<GroupInfo> CreateGroupAsync(string group, IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (GroupInfo)await RequestAsync(reference, new GroupCreateRequest(reference, group, [.. members]), cancellationToken).ConfigureAwait(false);
    }

    public async Task<GroupInfo> AddGroupMembersAsync(string group, IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (GroupInfo)await RequestAsync(reference, new GroupAddRequest(reference, group, [.. members]), cancellationToken).ConfigureAwait(false);
    }

    public async Task<GroupInfo> RemoveGroupMembersAsync(string group, IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (GroupInfo)await RequestAsync(reference, new GroupRemoveRequest(reference, group, [.. members]), cancellationToken).ConfigureAwait(false);
    }

    public async Task LeaveGroupAsync(string group, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        await RequestAsync(reference, new GroupLeaveRequest(reference, group), cancellationToken).ConfigureAwait(false);
    }

    public async Task<GroupInfo> GroupMembersAsync(string group, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (GroupInfo)await RequestAsync(reference, new GroupMembersRequest(reference, group), cancellationToken).ConfigureAwait(false);
    }

    public async Task<GroupSummary[]> ListGroupsAsync(CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return ((GroupListResult)await RequestAsync(reference, new GroupListRequest(reference), cancellationToken).ConfigureAwait(false)).Groups;
    }

    /// <summary>The groups this user is in, its invitations and the users it accepts adds from.</summary>
    public async Task<GroupListResult> GroupOverviewAsync(CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (GroupListResult)await RequestAsync(reference, new GroupListRequest(reference), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes up the invitation to <paramref name="group"/>: this user is a member from now on (<c>not_invited</c> when there
    /// is none). <paramref name="groupId"/>, from the invitation, makes sure it is that group and not another one by the name.
    /// </summary>
    public async Task<GroupInfo> AcceptGroupInvitationAsync(string group, string? groupId = null, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (GroupInfo)await RequestAsync(reference, new GroupAcceptRequest(reference, group, groupId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Turns down the invitation to <paramref name="group"/> (<c>not_invited</c> when there is none, or it is not of <paramref name="groupId"/>).</summary>
    public async Task DeclineGroupInvitationAsync(string group, string? groupId = null, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        await RequestAsync(reference, new GroupDeclineRequest(reference, group, groupId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether groups <paramref name="user"/> creates or adds us to take us in without an invitation.</summary>
    public async Task<GroupAllowResult> AllowGroupAddsAsync(string user, bool allowed = true, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        ClientMessage request = allowed ? new GroupAllowRequest(reference, user) : new GroupDisallowRequest(reference, user);
        return (GroupAllowResult)await RequestAsync(reference, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores <paramref name="body"/> (one sender-key message) in every member's inbox; <c>stale_group_version</c> when the membership moved past <paramref name="version"/>.</summary>
    /// <exception cref="MessageTooLargeException">The body is over <see cref="MaxBodyLength"/>; nothing was sent.</exception>
    public async Task<GroupSendResult> GroupSendAsync(string group, long version, byte[] body, CancellationToken cancellationToken = default)
    {
        CheckBodyLength(body);
        long reference = Interlocked.Increment(ref _nextRef);
        return (GroupSendResult)await RequestAsync(reference, new GroupSendRequest(reference, group, version, body), cancellationToken).ConfigureAwait(false);
    }
}
