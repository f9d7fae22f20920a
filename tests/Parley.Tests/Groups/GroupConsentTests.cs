using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Groups;

/// <summary>
/// Consent before a group add (PROTOCOL.md §11.7, docs/decisions/0016) through a real server and real
/// SQLite, played by the stranger it is meant to stop: an invitation reaches the invitee alone and
/// names no member, it is paid for, it is no membership (no group message, no place in the group
/// bound), and only the invitee turns it into one. The store's bounds on floods are
/// GroupStoreContractTests'.
/// </summary>
public class GroupConsentTests
{
    private static async Task<ChatException> RefusedAsync(Func<Task> request) =>
        await Assert.ThrowsAsync<ChatException>(async () => await request().WithTimeout());

    private static async Task<GroupChange> NextChangeAsync(Channel<ChatMessage> inbox)
    {
        ChatMessage message = await inbox.NextAsync();
        Assert.Equal(GroupContentTypes.Changed, message.ContentType);
        return MessengerCodec.DecodeGroupChange(message.Body);
    }

    [Fact]
    public async Task A_stranger_can_only_invite_and_the_invitee_alone_decides()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> victimInbox = InboxExtensions.NewInbox(), friendInbox = InboxExtensions.NewInbox();
        await using ChatClient victim = await server.LoginAsync("victim", inbox: victimInbox);
        await using ChatClient friend = await server.LoginAsync("friend", inbox: friendInbox);
        await using ChatClient mallory = await server.LoginAsync("mallory");
        await friend.AllowGroupAddsAsync("mallory").WithTimeout();

        GroupInfo spam = await mallory.CreateGroupAsync("spam", ["victim", "friend"]).WithTimeout();
        Assert.Equal(["friend", "mallory"], spam.Members);
        Assert.Equal(["victim"], spam.Invited ?? []);
        Assert.Equal(1L, spam.Version);

        // The invitee hears of it alone, and learns the group and the inviter, not who is in it.
        GroupChange invitation = await NextChangeAsync(victimInbox);
        Assert.Equal((GroupChangeKinds.Invited, "mallory", "spam", spam.GroupId), (invitation.Change, invitation.Actor, invitation.Group, invitation.GroupId));
        Assert.Equal(["victim"], invitation.Subjects);
        Assert.Empty(invitation.Admins);
        Assert.Equal(GroupChangeKinds.Created, (await NextChangeAsync(friendInbox)).Change);

        // Not a member: the group's messages do not reach the invitee, nor may it read or write the group.
        Assert.Equal(2, (await mallory.GroupSendAsync("spam", spam.Version, [1, 2, 3]).WithTimeout()).Recipients);
        Assert.Equal(ErrorCodes.NotAMember, (await RefusedAsync(() => victim.GroupMembersAsync("spam"))).Code);
        Assert.Equal(ErrorCodes.NotAMember, (await RefusedAsync(() => victim.GroupSendAsync("spam", spam.Version, [4]))).Code);
        GroupListResult overview = await victim.GroupOverviewAsync().WithTimeout();
        Assert.Empty(overview.Groups);
        GroupInvitation listed = Assert.Single(overview.Invitations ?? []);
        Assert.Equal(("spam", spam.GroupId, "mallory"), (listed.Group, listed.GroupId, listed.InvitedBy));
        // Naming an invited user again tells it nothing new.
        Assert.Null((await mallory.AddGroupMembersAsync("spam", ["victim"]).WithTimeout()).Invited);

        // Declined: gone, and it cannot be taken up afterwards; the stranger's next group asks again.
        await victim.DeclineGroupInvitationAsync("spam").WithTimeout();
        Assert.Equal(ErrorCodes.NotInvited, (await RefusedAsync(() => victim.AcceptGroupInvitationAsync("spam"))).Code);
        Assert.Equal(ErrorCodes.NotInvited, (await RefusedAsync(() => victim.DeclineGroupInvitationAsync("spam"))).Code);
        Assert.Empty((await victim.GroupOverviewAsync().WithTimeout()).Invitations ?? []);
        Assert.Equal(["victim"], (await mallory.CreateGroupAsync("again", ["victim"]).WithTimeout()).Invited ?? []);
        Assert.Equal(GroupChangeKinds.Invited, (await NextChangeAsync(victimInbox)).Change);

        // Nothing reached the invitee but the two invitations.
        Assert.False(victimInbox.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Accepting_joins_tells_the_members_and_lets_the_inviter_add_without_asking()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox(), bobInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: aliceInbox);
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);

        GroupInfo created = await alice.CreateGroupAsync("team", ["bob"]).WithTimeout();
        Assert.Equal(GroupChangeKinds.Invited, (await NextChangeAsync(bobInbox)).Change);
        GroupInfo joined = await bob.AcceptGroupInvitationAsync("team").WithTimeout();
        Assert.Equal((created.GroupId, 2L), (joined.GroupId, joined.Version));
        Assert.Equal(["alice", "bob"], joined.Members);
        Assert.Equal(["alice"], joined.Admins);
        Assert.Equal(GroupChangeKinds.Created, (await NextChangeAsync(aliceInbox)).Change);
        foreach (Channel<ChatMessage> inbox in new[] { aliceInbox, bobInbox })
        {
            GroupChange notice = await NextChangeAsync(inbox);
            Assert.Equal((GroupChangeKinds.Joined, "bob", 2L), (notice.Change, notice.Actor, notice.Version));
            Assert.Equal(["bob"], notice.Subjects);
        }

        // Accepting allowed alice: her next group takes bob in at once. Disallowing goes back to asking.
        Assert.Equal(["alice"], (await bob.GroupOverviewAsync().WithTimeout()).Allowed ?? []);
        Assert.Equal(["alice", "bob"], (await alice.CreateGroupAsync("more", ["bob"]).WithTimeout()).Members);
        Assert.False((await bob.AllowGroupAddsAsync("alice", allowed: false).WithTimeout()).Allowed);
        Assert.Equal(["bob"], (await alice.CreateGroupAsync("third", ["bob"]).WithTimeout()).Invited ?? []);

        // Bad names and unknown users get their own errors.
        Assert.Equal(ErrorCodes.UnknownRecipient, (await RefusedAsync(() => bob.AllowGroupAddsAsync("nobody"))).Code);
        Assert.Equal(ErrorCodes.InvalidUsername, (await RefusedAsync(() => bob.AllowGroupAddsAsync("bad name"))).Code);
        Assert.Equal(ErrorCodes.InvalidGroupName, (await RefusedAsync(() => bob.AcceptGroupInvitationAsync("#team"))).Code);
    }

    [Fact]
    public async Task A_stranger_filling_the_victims_invitations_leaves_its_group_bound_free()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxGroupsPerUser = 2, SenderMessageBurst = 1_000 });
        await using ChatClient victim = await server.LoginAsync("victim");
        await using ChatClient friend = await server.LoginAsync("friend");
        await victim.AllowGroupAddsAsync("friend").WithTimeout();
        string[] strangers = [.. Enumerable.Range(0, 4).Select(i => $"mallory{i}")];
        foreach (string stranger in strangers)
        {
            await using ChatClient mallory = await server.LoginAsync(stranger);
            for (int i = 0; i < 2; i++)
            {
                await mallory.CreateGroupAsync($"{stranger}-{i}", ["victim"]).WithTimeout();
            }
        }
        // Eight invitations, none a membership: the friend's two groups still fit, and then the bound holds.
        Assert.Equal(8, (await victim.GroupOverviewAsync().WithTimeout()).Invitations?.Length);
        await friend.CreateGroupAsync("one", ["victim"]).WithTimeout();
        await friend.CreateGroupAsync("two", ["victim"]).WithTimeout();
        Assert.Equal(2, (await victim.ListGroupsAsync().WithTimeout()).Length);
        Assert.Equal(ErrorCodes.TooManyGroups, (await RefusedAsync(() => victim.AcceptGroupInvitationAsync("mallory0-0"))).Code);
    }

    [Fact]
    public async Task An_invitation_is_paid_for_by_the_inviter()
    {
        // Burst 6: the request (1), then the creator's notice and five invitations (6) do not fit.
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 6, SenderMessagesPerSecond = 0.001, MaxBroadcastRecipients = 4 });
        string[] strangers = [.. Enumerable.Range(0, 5).Select(i => $"user{i}")];
        foreach (string user in strangers)
        {
            await using ChatClient _ = await server.LoginAsync(user);
        }
        await using ChatClient mallory = await server.LoginAsync("mallory");
        Assert.Equal(ErrorCodes.RateLimited, (await RefusedAsync(() => mallory.CreateGroupAsync("spam", strangers))).Code);
        await using ChatClient first = await server.LoginAsync("user0");
        Assert.Empty((await first.GroupOverviewAsync().WithTimeout()).Invitations ?? []);
    }

    [Fact]
    public async Task With_group_adds_everyone_the_server_adds_at_once_as_before_invitations()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { AskBeforeGroupAdds = false });
        await using ChatClient alice = await server.LoginAsync("alice");
        await using (await server.LoginAsync("bob"))
        {
        }
        GroupInfo created = await alice.CreateGroupAsync("team", ["bob"]).WithTimeout();
        Assert.Equal(["alice", "bob"], created.Members);
        Assert.Null(created.Invited);
    }
}
