using Parley.Client.EndToEnd;
using Parley.Client.EndToEnd.Groups;
using Parley.EndToEnd.SenderKeys;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Groups;

/// <summary>
/// A member's device that has no sender key for a group message asks the sending device for it, and
/// that device answers to it alone (PROTOCOL.md §14.3), through a real server: a member's new device
/// reads what follows without waiting for a rotation, and nobody else gets a key by asking.
/// </summary>
public class GroupKeyRequestTests
{
    private static Parley.Server.Hosting.ServerOptions AddsEveryone(Parley.Server.Hosting.ServerOptions options) => options with { AskBeforeGroupAdds = false };

    private static uint KeyIdOf(ChatMessage row) => SenderKeyMessage.Parse(row.Body).KeyId;

    /// <summary>alice makes #team with bob and says <paramref name="first"/>, which bob reads: her key has reached his first device.</summary>
    private static async Task<(GroupMember Alice, GroupMember Bob)> TeamAsync(TestServer server, string first)
    {
        GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await alice.Groups.CreateAsync(alice.Client, "team", ["bob"]).WithTimeout();
        await alice.Groups.SendTextAsync(alice.Client, "team", first).WithTimeout();
        Assert.Equal(first, (await bob.NextMessageAsync()).Text);
        return (alice, bob);
    }

    /// <summary>The next group message that opened, past the failures of earlier copies (those above, read twice).</summary>
    private static async Task<GroupEvent> NextReadAsync(GroupMember device)
    {
        while (true)
        {
            GroupEvent next = await device.NextMessageAsync();
            if (next.Kind != GroupEventKind.Failed)
            {
                return next;
            }
        }
    }

    /// <summary>
    /// The new device's next group message event, past copies of earlier messages that may still be in the
    /// account's inbox (not yet acknowledged by the first device) and arrive before the device learned the group.
    /// </summary>
    private static async Task<GroupEvent> NextForKnownGroupAsync(GroupMember device)
    {
        while (true)
        {
            GroupEvent next = await device.NextMessageAsync();
            if (next.Kind != GroupEventKind.Failed || next.Group.Length > 0)
            {
                return next;
            }
        }
    }

    [Fact]
    public async Task A_members_new_device_asks_for_the_key_and_reads_what_follows()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        (GroupMember alice, GroupMember bob) = await TeamAsync(server, "before the new device");
        await using GroupMember a = alice, b = bob;

        // bob logs in on a second device: alice recorded bob as holding her key, so she does not send it again.
        await using GroupMember bobLaptop = await GroupMember.ConnectAsync(server, "bob");
        // At login it learns the groups it did not know (the server lists them), once.
        Assert.Equal(["team"], await bobLaptop.Groups.LearnAtLoginAsync(bobLaptop.Client).WithTimeout());
        Assert.Empty(await bobLaptop.Groups.LearnAtLoginAsync(bobLaptop.Client).WithTimeout());
        GroupSent first = await alice.Groups.SendTextAsync(alice.Client, "team", "the laptop cannot read this one").WithTimeout();
        Assert.False(first.Rotated);
        Assert.Equal("the laptop cannot read this one", (await bob.NextMessageAsync()).Text);
        GroupEvent unread = await NextForKnownGroupAsync(bobLaptop);
        Assert.Equal((GroupEventKind.Failed, "team", "alice", true), (unread.Kind, unread.Group, unread.From, unread.KeyRequested));
        Assert.True(bobLaptop.Groups.HasKeyWork);

        // The request goes to alice's sending device alone; she answers the laptop alone, with the key she sends with.
        Assert.Equal(1, await bobLaptop.Groups.SendKeyRequestsAsync(bobLaptop.Client).WithTimeout());
        E2eIncoming request = await alice.NextGroupPayloadAsync();
        Assert.Equal(("bob", bobLaptop.Client.DeviceId), (request.From, request.FromDevice));
        Assert.True(alice.Groups.HasKeyWork);
        Assert.Equal(1, await alice.Groups.SendKeyRequestsAsync(alice.Client).WithTimeout());
        E2eIncoming answer = await bobLaptop.NextGroupPayloadAsync();
        Assert.Equal(("alice", alice.Client.DeviceId), (answer.From, answer.FromDevice));

        GroupSent next = await alice.Groups.SendTextAsync(alice.Client, "team", "now the laptop reads along").WithTimeout();
        Assert.False(next.Rotated);
        Assert.Equal(("alice", "now the laptop reads along"), await NextReadAsync(bobLaptop) is var read ? (read.From, read.Text) : default);
        Assert.Equal("now the laptop reads along", (await bob.NextMessageAsync()).Text);
        // The answer went to the laptop only: bob's first device took no group payload besides alice's first key.
        Assert.Equal(1, bob.GroupPayloads.Reader.Count);
    }

    [Fact]
    public async Task Only_a_member_asking_for_the_key_in_use_gets_it_and_each_request_is_answered_once()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        await using GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await using GroupMember carol = await GroupMember.ConnectAsync(server, "carol");
        await using GroupMember mallory = await GroupMember.ConnectAsync(server, "mallory");
        GroupInfo team = await alice.Groups.CreateAsync(alice.Client, "team", ["bob", "carol"]).WithTimeout();
        byte[] groupId = Convert.FromHexString(team.GroupId);
        await alice.Groups.SendTextAsync(alice.Client, "team", "hello").WithTimeout();
        uint keyId = KeyIdOf(await bob.NextRowAsync());
        Assert.Equal("hello", (await bob.NextMessageAsync()).Text);

        async Task AskAsync(GroupMember asker, uint id)
        {
            byte[] request = GroupPayloads.EncodeKeyRequest(groupId, id, E2eMessageId.New());
            await asker.Keys.SendPlaintextToDeviceAsync(asker.Client, "alice", alice.Client.DeviceId!, request, CancellationToken.None).WithTimeout();
            await alice.NextGroupPayloadAsync();
        }

        // Not a member: mallory learns nothing, whatever the key id.
        await AskAsync(mallory, keyId);
        Assert.False(alice.Groups.HasKeyWork);
        // A member asking for a key alice no longer (or never) sent with: nothing.
        await AskAsync(bob, keyId + 1);
        Assert.False(alice.Groups.HasKeyWork);
        // A member asking for the key in use gets it, once; asked again at once, nothing more goes.
        await AskAsync(bob, keyId);
        await AskAsync(bob, keyId);
        Assert.Equal(1, await alice.Groups.SendKeyRequestsAsync(alice.Client).WithTimeout());
        Assert.Equal(0, await alice.Groups.SendKeyRequestsAsync(alice.Client).WithTimeout());

        // carol asks while a member, and is removed before alice's device answers: the removal made the key she
        // asked for stale (every membership change does), so the check at answering time sends nothing.
        await AskAsync(carol, keyId);
        Assert.True(alice.Groups.HasKeyWork);
        await alice.Groups.RemoveAsync(alice.Client, "team", ["carol"]).WithTimeout();
        Assert.Equal(0, await alice.Groups.SendKeyRequestsAsync(alice.Client).WithTimeout());
        // After alice's next message (a new key), a request from a device of carol's is refused on arrival: not a member.
        await alice.Groups.SendTextAsync(alice.Client, "team", "without carol").WithTimeout();
        await using GroupMember carolPhone = await GroupMember.ConnectAsync(server, "carol");
        uint newKeyId = KeyIdOf(await bob.NextRowAsync());
        await AskAsync(carolPhone, newKeyId);
        Assert.False(alice.Groups.HasKeyWork);
        // bob's second device asking for that key is answered: the refusal was carol's, not the key's.
        await using GroupMember bobPhone = await GroupMember.ConnectAsync(server, "bob");
        await AskAsync(bobPhone, newKeyId);
        Assert.True(alice.Groups.HasKeyWork);
    }

    [Fact]
    public async Task A_request_cut_off_by_a_lost_connection_goes_on_the_next_one()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        (GroupMember alice, GroupMember bob) = await TeamAsync(server, "hello");
        await using GroupMember a = alice, b = bob;
        GroupMember laptop = await GroupMember.ConnectAsync(server, "bob");
        Assert.Equal(["team"], await laptop.Groups.LearnAtLoginAsync(laptop.Client).WithTimeout());
        await alice.Groups.SendTextAsync(alice.Client, "team", "missed").WithTimeout();
        Assert.True((await NextForKnownGroupAsync(laptop)).KeyRequested);

        await laptop.Client.DisposeAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => laptop.Groups.SendKeyRequestsAsync(laptop.Client).WithTimeout());
        Assert.True(laptop.Groups.HasKeyWork);
        await using GroupMember again = await GroupMember.ConnectAsync(server, "bob", before: laptop);
        Assert.Equal(1, await again.Groups.SendKeyRequestsAsync(again.Client).WithTimeout());
        Assert.Equal(("bob", again.Client.DeviceId), await alice.NextGroupPayloadAsync() is var request ? (request.From, request.FromDevice) : default);
    }
}
