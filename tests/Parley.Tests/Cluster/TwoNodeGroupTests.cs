using System.Threading.Channels;
using Parley.Client;
using Parley.Client.EndToEnd.Groups;
using Parley.Messaging;
using Parley.Tests.Groups;
using Parley.Tests.Support;

namespace Parley.Tests.Cluster;

/// <summary>
/// Groups (PROTOCOL.md §11.7) on two nodes sharing one PostgreSQL database and one Redis: a group
/// made on one node is the same group on the other, its notices and a group_send reach a member on
/// the other node at once across the bus, and changes made on both nodes get one version each.
/// </summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class TwoNodeGroupTests(ClusterEngines engines)
{
    [EnginesFact]
    public async Task A_group_made_on_one_node_carries_a_group_send_to_a_member_on_the_other_at_once()
    {
        (TestServer one, TestServer two) = await TwoNodeTests.StartPairAsync(engines);
        await using (one)
        await using (two)
        {
            Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox();
            await using ChatClient alice = await one.LoginAsync("alice", inbox: aliceInbox);
            Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
            await using ChatClient bob = await two.LoginAsync("bob", inbox: bobInbox);
            Channel<ChatMessage> carolInbox = InboxExtensions.NewInbox();
            await using ChatClient carol = await two.LoginAsync("carol", inbox: carolInbox);
            await bob.AllowGroupAddsAsync("alice").WithTimeout();

            GroupInfo created = await alice.CreateGroupAsync("team", ["bob"]).WithTimeout();
            Assert.Equal((1L, 2), (created.Version, created.Members.Length));
            ChatMessage notice = await bobInbox.NextAsync();
            Assert.Equal(GroupContentTypes.Changed, notice.ContentType);
            Assert.Equal((GroupChangeKinds.Created, created.GroupId, 1L), Change(notice));

            // The other node reads the same group from the shared store.
            GroupInfo seenByBob = await bob.GroupMembersAsync("team").WithTimeout();
            Assert.Equal((created.GroupId, 1L), (seenByBob.GroupId, seenByBob.Version));
            Assert.Equal(["alice", "bob"], seenByBob.Members);
            Assert.Equal([new GroupSummary("team", created.GroupId, 1, 2)], await bob.ListGroupsAsync().WithTimeout());

            byte[] body = [7, 7, 7];
            GroupSendResult sent = await alice.GroupSendAsync("team", created.Version, body).WithTimeout();
            Assert.Equal(2, sent.Recipients);
            ChatMessage received = await bobInbox.NextAsync();
            Assert.Equal((GroupContentTypes.Message, "alice"), (received.ContentType, received.From));
            Assert.Equal(body, received.Body);

            // Changes through either node take the next version: alice invites carol on node 1 (no version),
            // carol accepts on node 2, bob leaves on node 2.
            Assert.Equal(["carol"], (await alice.AddGroupMembersAsync("team", ["carol"]).WithTimeout()).Invited ?? []);
            Assert.Equal((GroupChangeKinds.Invited, created.GroupId, 1L), Change(await carolInbox.NextAsync()));
            Assert.Equal(2L, (await carol.AcceptGroupInvitationAsync("team").WithTimeout()).Version);
            ChatMessage joined = await bobInbox.NextAsync();
            Assert.Equal((GroupChangeKinds.Added, created.GroupId, 2L), Change(joined));
            Assert.True(GroupChangeKinds.IsJoin(MessengerCodec.DecodeGroupChange(joined.Body)));
            await bob.LeaveGroupAsync("team").WithTimeout();
            GroupInfo after = await alice.GroupMembersAsync("team").WithTimeout();
            Assert.Equal(3L, after.Version);
            Assert.Equal(["alice", "carol"], after.Members);
            Assert.Equal(ErrorCodes.StaleGroupVersion,
                (await Assert.ThrowsAsync<ChatException>(async () => await alice.GroupSendAsync("team", 2, body).WithTimeout())).Code);
            Assert.Equal(ErrorCodes.NotAMember,
                (await Assert.ThrowsAsync<ChatException>(async () => await bob.GroupSendAsync("team", 3, body).WithTimeout())).Code);
        }
    }

    [EnginesFact]
    public async Task End_to_end_group_text_crosses_the_nodes()
    {
        (TestServer one, TestServer two) = await TwoNodeTests.StartPairAsync(engines);
        await using (one)
        await using (two)
        {
            await using GroupMember alice = await GroupMember.ConnectAsync(one, "alice");
            await using GroupMember bob = await GroupMember.ConnectAsync(two, "bob");
            // bob has not allowed alice: he is invited on node 1 and accepts on node 2; alice hears of it and brings him her key.
            Assert.Equal(["bob"], (await alice.Groups.CreateAsync(alice.Client, "team", ["bob"]).WithTimeout()).Invited ?? []);
            Assert.Equal(GroupChangeKinds.Invited, (await NextChangeAsync(bob)).Change);
            await bob.Groups.AcceptAsync(bob.Client, "team").WithTimeout();
            Assert.Equal(GroupChangeKinds.Created, (await NextChangeAsync(alice)).Change);
            Assert.True(GroupChangeKinds.IsJoin(await NextChangeAsync(alice)));

            GroupSent sent = await alice.Groups.SendTextAsync(alice.Client, "team", "across the cluster").WithTimeout();
            Assert.Equal(2, sent.Recipients);
            GroupEvent message = await bob.NextMessageAsync();
            Assert.Equal((GroupEventKind.Message, "team", "alice", "across the cluster"), (message.Kind, message.Group, message.From, message.Text));

            await bob.Groups.SendTextAsync(bob.Client, "team", "and back").WithTimeout();
            Assert.Equal("and back", (await alice.NextMessageAsync()).Text);
        }
    }

    [EnginesFact]
    public async Task Changes_and_sends_racing_on_both_nodes_reach_a_member_in_version_order()
    {
        (TestServer one, TestServer two) = await TwoNodeTests.StartPairAsync(engines);
        await using (one)
        await using (two)
        {
            await using ChatClient alice = await one.LoginAsync("alice");
            await using ChatClient bob = await two.LoginAsync("bob");
            Channel<ChatMessage> carolInbox = InboxExtensions.NewInbox();
            await using ChatClient carol = await one.LoginAsync("carol", inbox: carolInbox);
            string[] joiners = [.. Enumerable.Range(0, 8).Select(i => $"user{i}")];
            foreach (string user in joiners)
            {
                await using ChatClient joiner = await two.LoginAsync(user);
                await joiner.AllowGroupAddsAsync("alice").WithTimeout();
            }
            await bob.AllowGroupAddsAsync("alice").WithTimeout();
            await carol.AllowGroupAddsAsync("alice").WithTimeout();
            await alice.CreateGroupAsync("team", ["bob", "carol"]).WithTimeout();
            GroupInfo start = await alice.AddGroupMembersAsync("team", ["user0"]).WithTimeout();

            // alice on node 1 and bob on node 2 add members while each sends, for the version it last read,
            // a message whose body is that version; refused sends (stale) are read again and retried.
            async Task ChangeAndSendAsync(ChatClient admin, string[] toAdd, bool isAdmin)
            {
                foreach (string user in toAdd)
                {
                    if (isAdmin)
                    {
                        await admin.AddGroupMembersAsync("team", [user]).WithTimeout();
                    }
                    for (int attempt = 0; attempt < 20; attempt++)
                    {
                        long version = (await admin.GroupMembersAsync("team").WithTimeout()).Version;
                        try
                        {
                            await admin.GroupSendAsync("team", version, BitConverter.GetBytes(version)).WithTimeout();
                            break;
                        }
                        catch (ChatException e) when (e.Code == ErrorCodes.StaleGroupVersion)
                        {
                        }
                    }
                }
            }
            await Task.WhenAll(ChangeAndSendAsync(alice, joiners[1..5], isAdmin: true), ChangeAndSendAsync(alice, joiners[5..], isAdmin: true),
                ChangeAndSendAsync(bob, joiners[1..5], isAdmin: false));
            long last = (await alice.GroupMembersAsync("team").WithTimeout()).Version;
            Assert.Equal(start.Version + 7, last);

            // carol read every notice once, in version order, and each message after the notice of its version and before the next.
            long seen = 0;
            while (seen < last)
            {
                ChatMessage row = await carolInbox.NextAsync();
                if (row.ContentType == GroupContentTypes.Changed)
                {
                    long version = Change(row).Version;
                    Assert.Equal(seen + 1, version);
                    seen = version;
                }
                else
                {
                    Assert.Equal(seen, BitConverter.ToInt64(row.Body));
                }
            }
        }
    }

    private static async Task<GroupChange> NextChangeAsync(GroupMember member)
    {
        GroupEvent next = await member.NextAsync();
        Assert.Equal(GroupEventKind.Changed, next.Kind);
        return next.Change!;
    }

    private static (string Kind, string GroupId, long Version) Change(ChatMessage notice)
    {
        GroupChange change = MessengerCodec.DecodeGroupChange(notice.Body);
        return (change.Change, change.GroupId, change.Version);
    }
}
