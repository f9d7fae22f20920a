using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;
using static Parley.Tests.Groups.GroupRequests;

namespace Parley.Tests.Groups;

/// <summary>
/// The server's group requests (PROTOCOL.md §11.7) through a real server and real SQLite: who may
/// change what, notices in every member's inbox in order, one ciphertext fanned out to every member,
/// and every bound against a member who pushes it.
/// </summary>
public class GroupServerTests
{
    [Fact]
    public async Task Admins_change_membership_and_every_member_reads_the_changes_in_order()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox(), bobInbox = InboxExtensions.NewInbox(), carolInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: aliceInbox);
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        await using ChatClient carol = await server.LoginAsync("carol", inbox: carolInbox);
        await using (ChatClient dave = await server.LoginAsync("dave"))
        {
            await dave.AllowGroupAddsAsync("alice").WithTimeout();
        }
        // Consent is GroupConsentTests' subject: here everyone added has allowed alice.
        await bob.AllowGroupAddsAsync("alice").WithTimeout();
        await carol.AllowGroupAddsAsync("alice").WithTimeout();

        GroupInfo created = await alice.CreateGroupAsync(" Team ", ["bob", "carol"]).WithTimeout();
        Assert.Equal(("team", 1L), (created.Group, created.Version));
        Assert.Equal(["alice", "bob", "carol"], created.Members);
        Assert.Equal(["alice"], created.Admins);
        Assert.Matches("^[0-9a-f]{32}$", created.GroupId);
        GroupChange first = await NextChangeAsync(bobInbox);
        Assert.Equal(new[] { "alice", "bob", "carol" }, first.Subjects);
        Assert.Equal((GroupChangeKinds.Created, "alice", 1L, created.GroupId), (first.Change, first.Actor, first.Version, first.GroupId));

        Assert.Equal(ErrorCodes.GroupExists, (await RefusedAsync(() => bob.CreateGroupAsync("team", []))).Code);
        Assert.Equal(ErrorCodes.NotAdmin, (await RefusedAsync(() => bob.AddGroupMembersAsync("team", ["dave"]))).Code);
        Assert.Equal(ErrorCodes.UnknownRecipient, (await RefusedAsync(() => alice.AddGroupMembersAsync("team", ["nobody"]))).Code);
        Assert.Equal(ErrorCodes.NotAMember, (await RefusedAsync(() => alice.RemoveGroupMembersAsync("team", ["dave"]))).Code);
        Assert.Equal(ErrorCodes.UnknownGroup, (await RefusedAsync(() => alice.GroupMembersAsync("nope"))).Code);
        Assert.Equal(ErrorCodes.InvalidGroupName, (await RefusedAsync(() => alice.CreateGroupAsync("#team", []))).Code);

        GroupInfo added = await alice.AddGroupMembersAsync("team", ["dave", "bob"]).WithTimeout();
        Assert.Equal(2L, added.Version);
        GroupInfo removed = await alice.RemoveGroupMembersAsync("team", ["carol"]).WithTimeout();
        Assert.Equal(["alice", "bob", "dave"], removed.Members);
        Assert.Equal(ErrorCodes.NotAMember, (await RefusedAsync(() => carol.GroupMembersAsync("team"))).Code);

        // The last admin leaves: the longest-standing member (bob, joined at creation) takes over.
        await alice.LeaveGroupAsync("team").WithTimeout();
        GroupInfo now = await bob.GroupMembersAsync("team").WithTimeout();
        Assert.Equal(4L, now.Version);
        Assert.Equal(["bob"], now.Admins);
        Assert.Equal(["bob", "dave"], now.Members);

        // bob read every change, in the order it happened; carol read hers up to her removal.
        (string, long)[] expected = [(GroupChangeKinds.Added, 2L), (GroupChangeKinds.Removed, 3L), (GroupChangeKinds.Left, 4L)];
        foreach ((string change, long version) in expected)
        {
            GroupChange read = await NextChangeAsync(bobInbox);
            Assert.Equal((change, version), (read.Change, read.Version));
        }
        Assert.Equal(GroupChangeKinds.Created, (await NextChangeAsync(carolInbox)).Change);
        Assert.Equal(GroupChangeKinds.Added, (await NextChangeAsync(carolInbox)).Change);
        GroupChange carolRemoved = await NextChangeAsync(carolInbox);
        Assert.Equal(GroupChangeKinds.Removed, carolRemoved.Change);
        Assert.Equal(["carol"], carolRemoved.Subjects);
        Assert.Equal([new GroupSummary("team", created.GroupId, 4, 2)], await bob.ListGroupsAsync().WithTimeout());
        Assert.Empty(await carol.ListGroupsAsync().WithTimeout());
    }

    [Fact]
    public async Task A_group_send_is_one_ciphertext_stored_for_every_member_and_read_in_order_after_the_changes()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: InboxExtensions.NewInbox());
        await using (ChatClient offline = await server.LoginAsync("bob"))
        {
            await offline.AllowGroupAddsAsync("alice").WithTimeout();
        }
        await using ChatClient mallory = await server.LoginAsync("mallory");
        GroupInfo group = await alice.CreateGroupAsync("team", ["bob"]).WithTimeout();
        byte[] body = [1, 2, 3, 4];

        GroupSendResult sent = await alice.GroupSendAsync("team", group.Version, body).WithTimeout();
        Assert.Equal(("team", 2), (sent.Group, sent.Recipients));
        Assert.Equal(ErrorCodes.StaleGroupVersion, (await RefusedAsync(() => alice.GroupSendAsync("team", group.Version + 1, body))).Code);
        Assert.Equal(ErrorCodes.NotAMember, (await RefusedAsync(() => mallory.GroupSendAsync("team", group.Version, body))).Code);
        Assert.Equal(ErrorCodes.UnknownGroup, (await RefusedAsync(() => mallory.GroupSendAsync("nope", 1, body))).Code);
        // Nobody but the server writes a group row.
        Assert.Equal(ErrorCodes.BadRequest, (await RefusedAsync(() => mallory.SendMessageAsync("bob", GroupContentTypes.Changed, body))).Code);
        Assert.Equal(ErrorCodes.BadRequest, (await RefusedAsync(() => mallory.SendMessageAsync("bob", GroupContentTypes.Message, body))).Code);

        // bob was offline: at login he reads the creation, then the message, in that order.
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        Assert.Equal(GroupContentTypes.Changed, (await bobInbox.NextAsync()).ContentType);
        ChatMessage message = await bobInbox.NextAsync();
        Assert.Equal((GroupContentTypes.Message, "alice"), (message.ContentType, message.From));
        Assert.Equal(body, message.Body);
        Assert.False(bobInbox.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Every_group_bound_holds_against_a_member_who_pushes_it()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxGroupMembers = 3, MaxGroupsPerUser = 2 });
        await using ChatClient alice = await server.LoginAsync("alice");
        foreach (string user in new[] { "bob", "carol", "dave" })
        {
            await using ChatClient member = await server.LoginAsync(user);
            await member.AllowGroupAddsAsync("alice").WithTimeout();
        }
        await using (ChatClient bob = await server.LoginAsync("bob"))
        {
            await bob.AllowGroupAddsAsync("dave").WithTimeout();
        }

        // Size: alice and two members fill a group of three.
        Assert.Equal(ErrorCodes.GroupFull, (await RefusedAsync(() => alice.CreateGroupAsync("big", ["bob", "carol", "dave"]))).Code);
        await alice.CreateGroupAsync("one", ["bob", "carol"]).WithTimeout();
        Assert.Equal(ErrorCodes.GroupFull, (await RefusedAsync(() => alice.AddGroupMembersAsync("one", ["dave"]))).Code);

        // Groups per user: bob is in two, so a third that names him is refused whole, and so is alice's third.
        await alice.CreateGroupAsync("two", ["bob"]).WithTimeout();
        ChatException tooMany = await RefusedAsync(() => alice.CreateGroupAsync("three", []));
        Assert.Equal(ErrorCodes.TooManyGroups, tooMany.Code);
        await using ChatClient dave = await server.LoginAsync("dave");
        Assert.Equal(ErrorCodes.TooManyGroups, (await RefusedAsync(() => dave.CreateGroupAsync("three", ["bob"]))).Code);
        Assert.Equal(ErrorCodes.UnknownGroup, (await RefusedAsync(() => dave.GroupMembersAsync("three"))).Code);

        // Names per request and name rules.
        string[] crowd = [.. Enumerable.Range(0, MessengerLimits.MaxGroupMembersPerRequest + 1).Select(i => $"user{i}")];
        Assert.Equal(ErrorCodes.BadRequest, (await RefusedAsync(() => dave.CreateGroupAsync("crowd", crowd))).Code);
        Assert.Equal(ErrorCodes.InvalidGroupName, (await RefusedAsync(() => dave.CreateGroupAsync(new string('a', 33), []))).Code);
        Assert.Equal(ErrorCodes.InvalidUsername, (await RefusedAsync(() => dave.CreateGroupAsync("ok", ["bad name"]))).Code);
        Assert.Equal(ErrorCodes.BadRequest, (await RefusedAsync(() => alice.AddGroupMembersAsync("one", []))).Code);
    }

    [Fact]
    public async Task A_group_send_costs_the_sender_one_message_per_member()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 12, SenderMessagesPerSecond = 0.001, MaxBroadcastRecipients = 8 });
        await using ChatClient alice = await server.LoginAsync("alice");
        foreach (string user in new[] { "bob", "carol", "dave" })
        {
            await using ChatClient member = await server.LoginAsync(user);
            await member.AllowGroupAddsAsync("alice").WithTimeout();
        }
        // Creating a group of four costs the request and four notices (5 of 12); each send to it, the request and four copies.
        GroupInfo group = await alice.CreateGroupAsync("team", ["bob", "carol", "dave"]).WithTimeout();
        await alice.GroupSendAsync("team", group.Version, [1]).WithTimeout();
        // A refused send is not free either: a stale one takes the request's message (1 of the 2 left).
        Assert.Equal(ErrorCodes.StaleGroupVersion, (await RefusedAsync(() => alice.GroupSendAsync("team", group.Version + 1, [2]))).Code);
        ChatException limited = await RefusedAsync(() => alice.GroupSendAsync("team", group.Version, [2]));
        Assert.Equal(ErrorCodes.RateLimited, limited.Code);
        // With 1 message left, even the cheapest refusal now waits.
        Assert.Equal(ErrorCodes.RateLimited, (await RefusedAsync(() => alice.GroupSendAsync("team", group.Version + 5, [3]))).Code);
    }

    [Fact]
    public void The_stated_group_limits_are_the_named_constants()
    {
        string text = System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md")), @"\s+", " ");
        Parley.Server.Hosting.ServerOptions defaults = new();
        Assert.Contains($"A group holds at most {defaults.MaxGroupMembers:N0} members (`--max-group-members`", text);
        Assert.Contains($"a user is in at most {defaults.MaxGroupsPerUser} groups (`--max-groups-per-user`", text);
        Assert.Contains($"a request names at most {MessengerLimits.MaxGroupMembersPerRequest} users", text);
        Assert.Contains($"| members of one group | {defaults.MaxGroupMembers:N0} ", text);
    }
}
