using Parley.Client.EndToEnd;
using Parley.Client.EndToEnd.Groups;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Groups;

/// <summary>
/// Groups end to end through a real server and its SQLite files (PROTOCOL.md §14): sender keys over
/// the pairwise sessions, one ciphertext fanned out by the server, rotation on every membership
/// change, and a member that was offline reading changes and messages in the order they happened.
/// </summary>
public class GroupEndToEndTests
{
    // The subject here is the end-to-end layer, not consent (GroupConsentTests): everyone named is added at once.
    private static Parley.Server.Hosting.ServerOptions AddsEveryone(Parley.Server.Hosting.ServerOptions options) => options with { AskBeforeGroupAdds = false };

    /// <summary>A fresh sender key for <paramref name="groupId"/> as if it came pairwise from (user, device): what a flood is made of.</summary>
    private static E2eIncoming KeyFrom(string user, string device, byte[] groupId)
    {
        using Parley.EndToEnd.SenderKeys.OwnSenderKey fake = Parley.EndToEnd.SenderKeys.OwnSenderKey.Generate(groupId);
        using Parley.EndToEnd.SenderKeys.SenderKeyDistribution distribution = fake.Distribution();
        return new E2eIncoming(user, device, null, null, null) { GroupPayload = GroupPayloads.EncodeDistribution(distribution) };
    }

    private static async Task<GroupEvent> ChangeAsync(GroupMember member, string kind)
    {
        GroupEvent next = await member.NextAsync();
        Assert.Equal(GroupEventKind.Changed, next.Kind);
        Assert.Equal(kind, next.Change!.Change);
        return next;
    }

    [Fact]
    public async Task An_invited_user_holds_no_group_state_and_once_it_accepts_reads_what_follows_but_not_what_came_before()
    {
        await using TestServer server = await TestServer.StartAsync(); // asks before adding, as by default
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember carol = await GroupMember.ConnectAsync(server, "carol");
        await bob.Client.AllowGroupAddsAsync("alice").WithTimeout();
        GroupInfo created = await alice.Groups.CreateAsync(alice.Client, "team", ["bob", "carol"]).WithTimeout();
        Assert.Equal(["carol"], created.Invited ?? []);
        await alice.Groups.SendTextAsync(alice.Client, "team", "before carol").WithTimeout();
        ChatMessage earlier = await bob.NextRowAsync();
        Assert.Equal("before carol", (await bob.NextMessageAsync()).Text);

        // The invitation is shown, but it is no membership: carol keeps no state and trusts no member list for it.
        GroupEvent invitation = await ChangeAsync(carol, GroupChangeKinds.Invited);
        Assert.Equal(("alice", "team"), (invitation.From, invitation.Group));
        Assert.Empty(carol.Groups.GroupNames());

        await carol.Groups.AcceptAsync(carol.Client, "team", created.GroupId).WithTimeout();
        Assert.Equal(["team"], carol.Groups.GroupNames());
        await ChangeAsync(alice, GroupChangeKinds.Created);
        Assert.True(GroupChangeKinds.IsJoin((await ChangeAsync(alice, GroupChangeKinds.Added)).Change!));
        // alice's next message goes out under a new key that carol is given; bob reads it too.
        Assert.True((await alice.Groups.SendTextAsync(alice.Client, "team", "welcome carol").WithTimeout()).Rotated);
        Assert.Equal(("alice", "welcome carol"), await carol.NextMessageAsync() is var w ? (w.From, w.Text) : default);
        Assert.Equal("welcome carol", (await bob.NextMessageAsync()).Text);
        Assert.Equal(GroupEventKind.Failed, carol.Groups.Receive(earlier with { To = "carol" }, carol.Client.DeviceId).Kind);
    }

    [Fact]
    public async Task Each_member_receipts_a_group_message_pairwise_and_the_sender_sees_it_per_member()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember carol = await GroupMember.ConnectAsync(server, "carol");
        await alice.Groups.CreateAsync(alice.Client, "team", ["bob", "carol"]).WithTimeout();
        ReceiptExchange aliceReceipts = new(alice.Keys);

        E2eMessageId id = E2eMessageId.New();
        aliceReceipts.Book.SentToGroup("team", id);
        await alice.Groups.SendTextAsync(alice.Client, "team", "lunch?", messageId: id).WithTimeout();

        // Bob sees it at once ("read"); carol's client only stores it ("delivered").
        foreach ((GroupMember member, bool seen) in new[] { (bob, true), (carol, false) })
        {
            await ChangeAsync(member, GroupChangeKinds.Created);
            GroupEvent message = await member.NextMessageAsync();
            Assert.Equal(id, message.MessageId);
            ReceiptExchange receipts = new(member.Keys);
            receipts.Book.Received(message.From, id, seen, message.Group);
            Assert.Equal(1, await receipts.SendPendingAsync(member.Client).WithTimeout());
        }

        Dictionary<string, ReceiptShown> shown = [];
        for (int i = 0; i < 2; i++)
        {
            E2eIncoming incoming = await alice.Pairwise.Reader.ReadAsync().AsTask().WithTimeout();
            Assert.NotNull(incoming.Receipt);
            ReceiptShown receipt = aliceReceipts.Received(incoming, seen: true)!;
            shown[receipt.From] = receipt;
        }
        Assert.Equal((ReceiptType.Read, "team"), (shown["bob"].Type, shown["bob"].Group));
        Assert.Equal((ReceiptType.Delivered, "team"), (shown["carol"].Type, shown["carol"].Group));
        Assert.All(shown.Values, r => Assert.Equal([id], r.MessageIds));
        // A receipt is never answered.
        Assert.Equal(0, aliceReceipts.Book.PendingCount);
    }

    [Fact]
    public async Task Sender_keys_for_made_up_groups_never_push_out_the_keys_of_a_group_we_are_in()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember mallory = await GroupMember.ConnectAsync(server, "mallory");
        await bob.Groups.CreateAsync(bob.Client, "team", ["alice"]).WithTimeout();
        await ChangeAsync(alice, GroupChangeKinds.Created);
        await bob.Groups.SendTextAsync(bob.Client, "team", "first").WithTimeout();
        Assert.Equal("first", (await alice.NextMessageAsync()).Text);

        // Mallory hands alice sender keys for more made-up groups than she keeps for unknown groups.
        for (int i = 0; i < E2eGroups.MaxKeysForUnknownGroups + 16; i++)
        {
            using Parley.EndToEnd.SenderKeys.OwnSenderKey fake = Parley.EndToEnd.SenderKeys.OwnSenderKey.Generate(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            using Parley.EndToEnd.SenderKeys.SenderKeyDistribution distribution = fake.Distribution();
            await mallory.Keys.SendPayloadAsync(mallory.Client, "alice", GroupPayloads.EncodeDistribution(distribution)).WithTimeout();
        }
        // Ordered behind all of them in alice's inbox: bob's next message still opens under the key she kept.
        await bob.Groups.SendTextAsync(bob.Client, "team", "still readable").WithTimeout();
        GroupEvent next = await alice.NextMessageAsync();
        Assert.Equal((GroupEventKind.Message, "still readable"), (next.Kind, next.Text));
    }

    [Fact]
    public async Task A_flood_of_keys_from_senders_no_member_list_names_never_pushes_out_a_members_key()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember carol = await GroupMember.ConnectAsync(server, "carol");
        await alice.Groups.CreateAsync(alice.Client, "team", ["bob"]).WithTimeout();
        await ChangeAsync(bob, GroupChangeKinds.Created);
        await alice.Groups.SendTextAsync(alice.Client, "team", "first").WithTimeout();
        Assert.Equal("first", (await bob.NextMessageAsync()).Text);
        // bob is added to carol's club by a notice that names only him: until he asks the server, no sender there is vouched for.
        GroupInfo club = await carol.Groups.CreateAsync(carol.Client, "club", []).WithTimeout();
        await carol.Groups.AddAsync(carol.Client, "club", ["bob"]).WithTimeout();
        await ChangeAsync(bob, GroupChangeKinds.Added);

        // More keys than bob keeps in all, from senders the club's list does not name (anyone who knows its id can send them).
        byte[] clubId = Convert.FromHexString(club.GroupId);
        for (int i = 0; i < E2eGroups.MaxReceivedKeys + 4; i++)
        {
            Assert.True(bob.Groups.TakeGroupPayload(KeyFrom("stranger" + i, "d1", clubId)));
        }
        // They pushed out only each other: alice's key for team, which team's list vouches for, still opens her next message.
        await alice.Groups.SendTextAsync(alice.Client, "team", "still readable").WithTimeout();
        GroupEvent next = await bob.NextMessageAsync();
        Assert.Equal((GroupEventKind.Message, "still readable"), (next.Kind, next.Text));
    }

    [Fact]
    public async Task A_member_flooding_from_many_devices_pushes_out_only_its_own_keys_and_a_new_groups_key_is_kept()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember carol = await GroupMember.ConnectAsync(server, "carol");
        await using GroupMember dave = await GroupMember.ConnectAsync(server, "dave");
        await alice.Groups.CreateAsync(alice.Client, "team", ["bob"]).WithTimeout();
        await ChangeAsync(bob, GroupChangeKinds.Created);
        await alice.Groups.SendTextAsync(alice.Client, "team", "first").WithTimeout();
        Assert.Equal("first", (await bob.NextMessageAsync()).Text);
        GroupInfo club = await carol.Groups.CreateAsync(carol.Client, "club", ["bob"]).WithTimeout();
        await ChangeAsync(bob, GroupChangeKinds.Created);

        // carol, a member the club's list names, hands bob more keys than he keeps in all, from ever new device ids.
        byte[] clubId = Convert.FromHexString(club.GroupId);
        for (int i = 0; i < E2eGroups.MaxReceivedKeys + 4; i++)
        {
            Assert.True(bob.Groups.TakeGroupPayload(KeyFrom("carol", "d" + (i / 4), clubId)));
        }
        // The sender holding most keys gives up its own: alice's key for team still opens her next message.
        await alice.Groups.SendTextAsync(alice.Client, "team", "still readable").WithTimeout();
        Assert.Equal("still readable", (await bob.NextMessageAsync()).Text);

        // dave adds bob by a notice that names only bob; with the store full of vouched keys, dave's key is still kept.
        GroupInfo third = await dave.Groups.CreateAsync(dave.Client, "third", []).WithTimeout();
        await dave.Groups.AddAsync(dave.Client, "third", ["bob"]).WithTimeout();
        await ChangeAsync(bob, GroupChangeKinds.Added);
        await dave.Groups.SendTextAsync(dave.Client, "third", "hello bob").WithTimeout();
        Assert.Equal(("dave", "hello bob"), await bob.NextMessageAsync() is var hello ? (hello.From, hello.Text) : default);
        // A key from a sender the notice did not name makes bob ask the server for third's members, once; dave is then
        // vouched for, and a flood from strangers who know third's id cannot push his key out.
        Assert.True(bob.Groups.HasKeyWork);
        await bob.Groups.SendKeyRequestsAsync(bob.Client).WithTimeout();
        Assert.False(bob.Groups.HasKeyWork);
        byte[] thirdId = Convert.FromHexString(third.GroupId);
        for (int i = 0; i < E2eGroups.MaxReceivedKeys + 4; i++)
        {
            bob.Groups.TakeGroupPayload(KeyFrom("stranger" + i, "d1", thirdId));
        }
        await dave.Groups.SendTextAsync(dave.Client, "third", "still here").WithTimeout();
        Assert.Equal("still here", (await bob.NextMessageAsync()).Text);
    }

    [Fact]
    public async Task Three_members_talk_and_the_server_holds_only_ciphertext()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember carol = await GroupMember.ConnectAsync(server, "carol");

        await alice.Groups.CreateAsync(alice.Client, "team", ["bob", "carol"]).WithTimeout();
        const string Marker = "GROUP-MARKER-5e1d-the-server-must-never-see-this";
        E2eMessageId messageId = E2eMessageId.New();
        GroupSent sent = await alice.Groups.SendTextAsync(alice.Client, "team", Marker, messageId: messageId).WithTimeout();
        Assert.Equal(("team", 3, true), (sent.Group, sent.Recipients, sent.Rotated));
        Assert.Empty(sent.Unreachable);
        foreach (GroupMember member in new[] { bob, carol })
        {
            await ChangeAsync(member, GroupChangeKinds.Created);
            GroupEvent message = await member.NextAsync();
            Assert.Equal((GroupEventKind.Message, "team", "alice", Marker), (message.Kind, message.Group, message.From, message.Text));
            Assert.Equal(messageId, message.MessageId);
        }

        // A second message reuses the key: no rotation, one ciphertext.
        Assert.False((await alice.Groups.SendTextAsync(alice.Client, "team", "again").WithTimeout()).Rotated);
        await bob.Groups.SendTextAsync(bob.Client, "team", "hi from bob").WithTimeout();
        Assert.Equal("again", (await carol.NextMessageAsync()).Text);
        GroupEvent fromBob = await carol.NextMessageAsync();
        Assert.Equal(("bob", "hi from bob"), (fromBob.From, fromBob.Text));
        Assert.Equal("hi from bob", (await alice.NextMessageAsync()).Text);

        Assert.False(ServerFiles.Contain(server, System.Text.Encoding.UTF8.GetBytes(Marker)), "the plaintext is in the server's files");
    }

    [Fact]
    public async Task A_removed_member_cannot_read_the_next_message_even_with_its_ciphertext()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember carol = await GroupMember.ConnectAsync(server, "carol");
        // carol's client keeps every key it was given, as a dishonest one would.
        carol.IgnoresRemoval = true;
        await alice.Groups.CreateAsync(alice.Client, "team", ["bob", "carol"]).WithTimeout();
        await bob.Groups.SendTextAsync(bob.Client, "team", "before").WithTimeout();
        Assert.Equal("before", (await carol.NextMessageAsync()).Text);
        Assert.Equal("before", (await alice.NextMessageAsync()).Text);

        await alice.Groups.RemoveAsync(alice.Client, "team", ["carol"]).WithTimeout();
        GroupSent after = await bob.Groups.SendTextAsync(bob.Client, "team", "after carol left").WithTimeout();
        Assert.True(after.Rotated);
        Assert.Equal(2, after.Recipients);
        Assert.Equal("after carol left", (await alice.NextMessageAsync()).Text);

        // The server no longer gives carol the row; handed alice's copy, carol's keys do not open it.
        await alice.NextRowAsync();
        ChatMessage stolen = await alice.NextRowAsync();
        GroupEvent attempt = carol.Groups.Receive(stolen with { To = "carol" }, carol.Client.DeviceId);
        Assert.Equal(GroupEventKind.Failed, attempt.Kind);
        Assert.Null(attempt.Text);
    }

    [Fact]
    public async Task A_new_member_reads_what_follows_but_not_what_came_before()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember dave = await GroupMember.ConnectAsync(server, "dave");
        await alice.Groups.CreateAsync(alice.Client, "team", ["bob"]).WithTimeout();
        await alice.Groups.SendTextAsync(alice.Client, "team", "before dave").WithTimeout();
        ChatMessage earlier = await bob.NextRowAsync();
        Assert.Equal("before dave", (await bob.NextMessageAsync()).Text);

        await alice.Groups.AddAsync(alice.Client, "team", ["dave"]).WithTimeout();
        Assert.True((await alice.Groups.SendTextAsync(alice.Client, "team", "welcome dave").WithTimeout()).Rotated);
        await ChangeAsync(dave, GroupChangeKinds.Added);
        GroupEvent welcome = await dave.NextAsync();
        Assert.Equal(("alice", "welcome dave"), (welcome.From, welcome.Text));
        Assert.Equal("welcome dave", (await bob.NextMessageAsync()).Text);

        GroupEvent attempt = dave.Groups.Receive(earlier with { To = "dave" }, dave.Client.DeviceId);
        Assert.Equal(GroupEventKind.Failed, attempt.Kind);
        // Even bob's key, handed to dave after the add, starts after what bob said before it.
        await bob.Groups.SendTextAsync(bob.Client, "team", "hi dave").WithTimeout();
        Assert.Equal("hi dave", (await dave.NextMessageAsync()).Text);
    }

    [Fact]
    public async Task A_member_offline_during_changes_catches_up_in_order()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        GroupMember carol = await GroupMember.ConnectAsync(server, "carol");
        await using (await GroupMember.ConnectAsync(server, "dave"))
        {
        }
        await alice.Groups.CreateAsync(alice.Client, "team", ["bob", "carol"]).WithTimeout();
        await ChangeAsync(carol, GroupChangeKinds.Created);
        await carol.DisposeAsync();

        await alice.Groups.AddAsync(alice.Client, "team", ["dave"]).WithTimeout();
        await alice.Groups.SendTextAsync(alice.Client, "team", "one").WithTimeout();
        await ChangeAsync(bob, GroupChangeKinds.Created);
        await ChangeAsync(bob, GroupChangeKinds.Added);
        Assert.Equal("one", (await bob.NextMessageAsync()).Text);
        await bob.Groups.SendTextAsync(bob.Client, "team", "two").WithTimeout();
        await alice.Groups.RemoveAsync(alice.Client, "team", ["dave"]).WithTimeout();
        await alice.Groups.SendTextAsync(alice.Client, "team", "three").WithTimeout();

        await using GroupMember back = await GroupMember.ConnectAsync(server, "carol", carol);
        await ChangeAsync(back, GroupChangeKinds.Added);
        GroupEvent one = await back.NextAsync();
        Assert.Equal(("alice", "one"), (one.From, one.Text));
        GroupEvent two = await back.NextAsync();
        Assert.Equal(("bob", "two"), (two.From, two.Text));
        await ChangeAsync(back, GroupChangeKinds.Removed);
        GroupEvent three = await back.NextAsync();
        Assert.Equal(("alice", "three"), (three.From, three.Text));
        Assert.False(back.Events.Reader.TryRead(out GroupEvent? extra), $"unexpected {extra}");
    }
}
