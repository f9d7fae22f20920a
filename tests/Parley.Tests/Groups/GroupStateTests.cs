using Parley.Messaging;
using Parley.Client.EndToEnd;
using Parley.Client.EndToEnd.Groups;
using Parley.EndToEnd;
using Parley.Tests.Support;

namespace Parley.Tests.Groups;

/// <summary>A device's group state survives a restart through its encrypted device database, and a changed row fails closed.</summary>
public class GroupStateTests
{
    // The subject here is the end-to-end layer, not consent (GroupConsentTests): everyone named is added at once.
    private static Parley.Server.Hosting.ServerOptions AddsEveryone(Parley.Server.Hosting.ServerOptions options) => options with { AskBeforeGroupAdds = false };

    [Fact]
    public async Task Sender_keys_saved_and_loaded_keep_reading_and_sending_without_a_new_key()
    {
        await using TestServer server = await TestServer.StartAsync(AddsEveryone);
        using TempDirectory temp = new();
        await using GroupMember alice = await GroupMember.ConnectAsync(server, "alice");
        GroupMember bob = await GroupMember.ConnectAsync(server, "bob");
        await alice.Groups.CreateAsync(alice.Client, "team", ["bob"]).WithTimeout();
        await alice.Groups.SendTextAsync(alice.Client, "team", "one").WithTimeout();
        Assert.Equal("one", (await bob.NextMessageAsync()).Text);
        await bob.Groups.SendTextAsync(bob.Client, "team", "bob's first").WithTimeout();
        Assert.Equal("bob's first", (await alice.NextMessageAsync()).Text);

        string path = Path.Combine(temp.Path, "bob.db");
        using (E2eDeviceDatabase database = new(path, "bob"))
        {
            database.Save(bob.Keys);
            database.SaveGroups(bob.Groups.Export());
        }
        await bob.DisposeAsync();

        using E2eDeviceDatabase reopened = new(path, "bob");
        E2eDevice keys = reopened.Load();
        E2eGroups groups = E2eGroups.Import(keys, reopened.LoadGroups()!);
        Assert.Equal(["team"], groups.GroupNames());
        await using GroupMember restored = await GroupMember.ConnectAsync(server, "bob", bob, (keys, groups));

        // alice's key was kept: her next message opens; bob's own key was kept: no new key to hand out.
        Assert.False((await alice.Groups.SendTextAsync(alice.Client, "team", "two").WithTimeout()).Rotated);
        Assert.Equal("two", (await restored.NextMessageAsync()).Text);
        Assert.False((await restored.Groups.SendTextAsync(restored.Client, "team", "bob again").WithTimeout()).Rotated);
        Assert.Equal("bob again", (await alice.NextMessageAsync()).Text);

        // The row is sealed to its owner: a changed byte fails closed, and so does a malformed state.
        using (Microsoft.Data.Sqlite.SqliteConnection raw = new($"Data Source={path};Pooling=False"))
        {
            raw.Open();
            using Microsoft.Data.Sqlite.SqliteCommand flip = raw.CreateCommand();
            flip.CommandText = "SELECT value FROM meta WHERE name = 'groups'";
            byte[] value = (byte[])flip.ExecuteScalar()!;
            value[^1] ^= 1;
            flip.CommandText = "UPDATE meta SET value = $v WHERE name = 'groups'";
            flip.Parameters.AddWithValue("$v", value);
            flip.ExecuteNonQuery();
        }
        Assert.Equal(E2eError.DecryptionFailed, Assert.Throws<E2eProtocolException>(() => reopened.LoadGroups()).Error);
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => E2eGroups.Import(keys, [1, 0xff, 0xff, 0xff, 0x7f])).Error);
    }
    /// <summary>
    /// A server making up groups (a "created" notice each) cannot make this device's saved state one
    /// it can no longer load: past the most it keeps, another group's notice is refused and said, and
    /// the state exports and imports with every group it kept (found by review: the 10,001st made
    /// every later start fail to open the device's keys).
    /// </summary>
    [Fact]
    public void Made_up_groups_past_the_bound_are_refused_and_the_state_still_loads()
    {
        using E2eDevice device = E2eDevice.Create("bob");
        E2eGroups groups = new(device);
        GroupEvent Notice(int i) => groups.Receive(new ChatMessage(i + 1, "mallory", "bob", 0, GroupContentTypes.Changed,
            MessengerCodec.EncodeGroupChange(new GroupChange($"g{i}", i.ToString("x32"), 1, GroupChangeKinds.Created, "mallory", ["mallory", "bob"], ["mallory"])),
            false, null, "d1"), "d2");
        for (int i = 0; i < E2eGroups.MaxGroups; i++)
        {
            Assert.Equal(GroupEventKind.Changed, Notice(i).Kind);
        }
        GroupEvent refused = Notice(E2eGroups.MaxGroups);
        Assert.NotEqual(GroupEventKind.Changed, refused.Kind);
        Assert.Contains("the most it keeps", refused.Reason);

        E2eGroups loaded = E2eGroups.Import(device, groups.Export());
        Assert.Equal(E2eGroups.MaxGroups, loaded.GroupNames().Count());
    }
}
