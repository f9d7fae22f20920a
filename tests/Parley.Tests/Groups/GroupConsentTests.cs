using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;
using static Parley.Tests.Groups.GroupRequests;

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
        GroupChange again = await NextChangeAsync(victimInbox);
        Assert.Equal((GroupChangeKinds.Invited, "again"), (again.Change, again.Group));

        // Nothing reached the invitee but the two invitations: a message sent now is the next thing it reads (an inbox is read in order).
        await mallory.SendMessageAsync("victim", "text/plain", [42]).WithTimeout();
        Assert.Equal(("text/plain", "mallory"), ((await victimInbox.NextAsync()) is var next ? (next.ContentType, next.From) : default));
    }

    [Fact]
    public async Task Accepting_joins_and_tells_the_members_as_an_add_but_only_an_explicit_allow_lets_the_inviter_add_without_asking()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox(), bobInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: aliceInbox);
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);

        GroupInfo created = await alice.CreateGroupAsync("team", ["bob"]).WithTimeout();
        Assert.Equal(GroupChangeKinds.Invited, (await NextChangeAsync(bobInbox)).Change);
        // The invitation's id must be the group's: another group under the name is not joined by mistake.
        Assert.Equal(ErrorCodes.NotInvited, (await RefusedAsync(() => bob.AcceptGroupInvitationAsync("team", new string('0', 32)))).Code);
        GroupInfo joined = await bob.AcceptGroupInvitationAsync("team", created.GroupId).WithTimeout();
        // An accept retried (its answer lost, say) gets the group again, and changes nothing.
        GroupInfo again = await bob.AcceptGroupInvitationAsync("team", created.GroupId).WithTimeout();
        Assert.Equal((joined.GroupId, joined.Version), (again.GroupId, again.Version));
        Assert.Equal((created.GroupId, 2L), (joined.GroupId, joined.Version));
        Assert.Equal(["alice", "bob"], joined.Members);
        Assert.Equal(["alice"], joined.Admins);
        Assert.Equal(GroupChangeKinds.Created, (await NextChangeAsync(aliceInbox)).Change);
        foreach (Channel<ChatMessage> inbox in new[] { aliceInbox, bobInbox })
        {
            GroupChange notice = await NextChangeAsync(inbox);
            // Told as an add by the joiner of itself, which clients from before invitations read correctly.
            Assert.Equal((GroupChangeKinds.Added, "bob", 2L), (notice.Change, notice.Actor, notice.Version));
            Assert.Equal(["bob"], notice.Subjects);
            Assert.True(GroupChangeKinds.IsJoin(notice));
        }

        // Accepting one group (a bait) does not let its sender add bob to more: that takes bob's own allow.
        Assert.Empty((await bob.GroupOverviewAsync().WithTimeout()).Allowed ?? []);
        Assert.Equal(["bob"], (await alice.CreateGroupAsync("bait", ["bob"]).WithTimeout()).Invited ?? []);
        Assert.True((await bob.AllowGroupAddsAsync("alice").WithTimeout()).Allowed);
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
    public async Task An_invitation_is_paid_for_by_the_inviter_even_past_the_group_size()
    {
        // Burst 6, groups of at most 2: the request (1), then the creator's notice and five invitations (6) take the whole
        // bucket and one more. Were invitations charged as members, the group size would cap the charge at 2 and 3 would be left.
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            SenderMessageBurst = 6, SenderMessagesPerSecond = 0.001, MaxBroadcastRecipients = 4, MaxGroupMembers = 2,
        });
        string[] strangers = [.. Enumerable.Range(0, 5).Select(i => $"user{i}")];
        foreach (string user in strangers)
        {
            await using ChatClient _ = await server.LoginAsync(user);
        }
        await using ChatClient mallory = await server.LoginAsync("mallory");
        Assert.Equal(strangers, (await mallory.CreateGroupAsync("spam", strangers).WithTimeout()).Invited ?? []);
        Assert.Equal(ErrorCodes.RateLimited, (await RefusedAsync(() => mallory.ListGroupsAsync())).Code);
        await using ChatClient first = await server.LoginAsync("user0");
        Assert.Single((await first.GroupOverviewAsync().WithTimeout()).Invitations ?? []);
    }

    [Fact]
    public async Task An_accept_without_an_invitation_costs_one_message_and_tells_nothing_of_the_group()
    {
        // Were an accept charged for the notices before its invitation is checked, a group of five would cost 1 + 6 at once
        // (the second attempt rate_limited, its retry time a measure of the group).
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 7, SenderMessagesPerSecond = 0.001, MaxBroadcastRecipients = 4 });
        string[] members = ["m1", "m2", "m3", "m4"];
        await using ChatClient owner = await server.LoginAsync("owner");
        foreach (string user in members)
        {
            await using ChatClient member = await server.LoginAsync(user);
            await member.AllowGroupAddsAsync("owner").WithTimeout();
        }
        Assert.Equal(5, (await owner.CreateGroupAsync("club", members).WithTimeout()).Members.Length);
        await using ChatClient mallory = await server.LoginAsync("mallory");
        for (int attempt = 0; attempt < 7; attempt++)
        {
            Assert.Equal(ErrorCodes.NotInvited, (await RefusedAsync(() => mallory.AcceptGroupInvitationAsync("club"))).Code);
        }
        Assert.Equal(ErrorCodes.RateLimited, (await RefusedAsync(() => mallory.AcceptGroupInvitationAsync("club"))).Code);
    }

    [Fact]
    public async Task A_change_pays_for_the_notices_it_stored_no_more_and_no_less()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 10, SenderMessagesPerSecond = 0.01, MaxBroadcastRecipients = 4 });
        string[] strangers = [.. Enumerable.Range(0, 20).Select(i => $"user{i:D2}")];
        foreach (string user in strangers)
        {
            await using ChatClient _ = await server.LoginAsync(user);
        }
        await using ChatClient mallory = await server.LoginAsync("mallory");

        // Naming only users already invited stores nothing: the two notices paid for up front come back, and each add
        // costs its one message (kept, the two would have run the budget dry at the third add).
        await mallory.CreateGroupAsync("small", [strangers[0]]).WithTimeout(); // 1 + 2 notices: 7 left
        for (int i = 0; i < 5; i++)
        {
            Assert.Null((await mallory.AddGroupMembersAsync("small", [strangers[0]]).WithTimeout()).Invited);
        }
        await mallory.GroupMembersAsync("small").WithTimeout();
        await mallory.GroupMembersAsync("small").WithTimeout();
        Assert.Equal(ErrorCodes.RateLimited, (await RefusedAsync(() => mallory.GroupMembersAsync("small"))).Code);

        // Twenty invitations and the creator's notice are 21 notices, more than a bucket of 10 holds: the change is made
        // (it is within every bound) and the rest is owed, so the next request waits until the debt is paid off.
        await using ChatClient owner = await server.LoginAsync("owner");
        await owner.CreateGroupAsync("big", strangers).WithTimeout();
        ChatException waiting = await RefusedAsync(() => owner.ListGroupsAsync());
        Assert.Equal(ErrorCodes.RateLimited, waiting.Code);
        // 1 + 9 up front, 12 owed: the bucket stands at -12, and the next message needs 13 at 0.01 a second.
        int seconds = int.Parse(System.Text.RegularExpressions.Regex.Match(waiting.Message, @"try again in (\d+) s").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(seconds, 1_250, 1_310);
    }

    [Fact]
    public async Task An_outsiders_refused_change_costs_one_message_whatever_the_group()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 6, SenderMessagesPerSecond = 0.001, MaxBroadcastRecipients = 4 });
        await using ChatClient owner = await server.LoginAsync("owner");
        string[] members = ["m1", "m2", "m3", "m4"];
        foreach (string user in members)
        {
            await using ChatClient member = await server.LoginAsync(user);
            await member.AllowGroupAddsAsync("owner").WithTimeout();
        }
        await owner.CreateGroupAsync("club", members).WithTimeout();
        await using ChatClient mallory = await server.LoginAsync("mallory");
        for (int attempt = 0; attempt < 6; attempt++)
        {
            Func<Task> refused = (attempt % 3) switch
            {
                0 => () => mallory.AddGroupMembersAsync("club", ["mallory"]),
                1 => () => mallory.RemoveGroupMembersAsync("club", ["m1"]),
                _ => () => mallory.LeaveGroupAsync("club"),
            };
            Assert.Equal(ErrorCodes.NotAMember, (await RefusedAsync(refused)).Code);
        }
        Assert.Equal(ErrorCodes.RateLimited, (await RefusedAsync(() => mallory.AddGroupMembersAsync("club", ["mallory"]))).Code);
    }

    [Fact]
    public async Task An_admin_withdraws_an_invitation_and_the_invitee_cannot_take_it_up()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        await using ChatClient carol = await server.LoginAsync("carol");
        GroupInfo created = await alice.CreateGroupAsync("team", ["carol"]).WithTimeout();
        GroupInfo withdrawn = await alice.RemoveGroupMembersAsync("team", ["carol"]).WithTimeout();
        Assert.Equal(["carol"], withdrawn.Withdrawn ?? []);
        Assert.Equal(created.Version, withdrawn.Version);
        Assert.Equal(["alice"], withdrawn.Members);
        Assert.Empty((await carol.GroupOverviewAsync().WithTimeout()).Invitations ?? []);
        Assert.Equal(ErrorCodes.NotInvited, (await RefusedAsync(() => carol.AcceptGroupInvitationAsync("team", created.GroupId))).Code);
    }

    [Fact]
    public async Task A_decline_for_another_group_id_leaves_the_invitation()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        await using ChatClient bob = await server.LoginAsync("bob");
        GroupInfo created = await alice.CreateGroupAsync("team", ["bob"]).WithTimeout();
        Assert.Equal(ErrorCodes.NotInvited, (await RefusedAsync(() => bob.DeclineGroupInvitationAsync("team", new string('0', 32)))).Code);
        Assert.Equal(created.GroupId, Assert.Single((await bob.GroupOverviewAsync().WithTimeout()).Invitations ?? []).GroupId);
        await bob.DeclineGroupInvitationAsync("team", created.GroupId).WithTimeout();
        Assert.Empty((await bob.GroupOverviewAsync().WithTimeout()).Invitations ?? []);
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
