using System.Threading.Channels;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.EndToEnd;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Client;

/// <summary>
/// End-to-end messages through a real server and its real SQLite files: keys from the key
/// directory, PQXDH then the Double Ratchet per device, and a server that only ever holds ciphertext.
/// </summary>
public class E2eMessagingTests
{
    [Fact]
    public async Task Two_users_talk_both_ways_and_compute_the_same_safety_number()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");

        E2eSent sent = await alice.Keys.SendTextAsync(alice.Client, "bob", "hello bob").WithTimeout();
        Assert.Equal(new E2eSent(1, Delivered: true), sent);
        E2eIncoming first = await bob.NextAsync();
        Assert.Equal(("alice", "hello bob"), (first.From, first.Text));
        Assert.Equal(alice.Id, first.FromDevice);

        for (int i = 0; i < 5; i++)
        {
            await bob.Keys.SendTextAsync(bob.Client, "alice", $"reply {i}").WithTimeout();
            Assert.Equal($"reply {i}", (await alice.NextAsync()).Text);
            await alice.Keys.SendTextAsync(alice.Client, "bob", $"again {i}").WithTimeout();
            Assert.Equal($"again {i}", (await bob.NextAsync()).Text);
        }

        string onAlice = alice.Keys.SafetyNumberWith("bob", bob.Id);
        string onBob = bob.Keys.SafetyNumberWith("alice", alice.Id);
        Assert.Equal(60, onAlice.Length);
        Assert.Equal(onAlice, onBob);
    }

    [Fact]
    public async Task A_message_for_an_offline_user_is_only_ciphertext_in_the_servers_files_and_decrypts_at_login()
    {
        await using TestServer server = await TestServer.StartAsync();
        E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        E2eDevice bobKeys = bob.Keys;
        string bobToken = bob.Token;
        await bob.DisposeAsync();

        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        const string Marker = "MARKER-7f3a9c-the-server-must-never-see-this";
        Assert.Equal(new E2eSent(1, Delivered: false), await alice.Keys.SendTextAsync(alice.Client, "bob", Marker).WithTimeout());
        Assert.Equal(1, await StoredMessages.CountForAsync(server, "bob"));
        Assert.False(ServerFilesContain(server, System.Text.Encoding.UTF8.GetBytes(Marker)), "the plaintext is in the server's files");

        await using E2eTestDevice bobAgain = await E2eTestDevice.ConnectAsync(server, "bob", bobKeys, bobToken);
        E2eIncoming arrived = await bobAgain.NextAsync();
        Assert.Equal(Marker, arrived.Text);
    }

    [Fact]
    public async Task A_tampered_message_is_reported_with_its_sender_and_the_session_goes_on()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await alice.Keys.SendTextAsync(alice.Client, "bob", "genuine").WithTimeout();
        Assert.Equal("genuine", (await bob.NextAsync()).Text);
        await bob.Keys.SendTextAsync(bob.Client, "alice", "ack").WithTimeout();
        Assert.Equal("ack", (await alice.NextAsync()).Text);

        // Alice's client sends garbage in an envelope's clothes: bob is told, sees no garbage.
        await alice.Client.SendToDeviceAsync("bob", bob.Id, E2eDevice.ContentType, [1, 2, 3, 4, 5, 6, 7, 8, 9]).WithTimeout();
        E2eIncoming bad = await bob.NextAsync();
        Assert.False(bad.Opened);
        Assert.Equal("alice", bad.From);
        Assert.NotNull(bad.Error);

        await alice.Keys.SendTextAsync(alice.Client, "bob", "still fine").WithTimeout();
        Assert.Equal("still fine", (await bob.NextAsync()).Text);
    }

    [Fact]
    public async Task Every_device_gets_its_own_copy_including_the_senders_other_device()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice phone = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice laptop = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");

        Assert.Equal(2, (await bob.Keys.SendTextAsync(bob.Client, "alice", "to both of alice's devices").WithTimeout()).RecipientDevices);
        Assert.Equal("to both of alice's devices", (await phone.NextAsync()).Text);
        Assert.Equal("to both of alice's devices", (await laptop.NextAsync()).Text);

        await phone.Keys.SendTextAsync(phone.Client, "bob", "from the phone").WithTimeout();
        Assert.Equal("from the phone", (await bob.NextAsync()).Text);
        E2eIncoming mirrored = await laptop.NextAsync();
        Assert.Equal(("alice", "from the phone"), (mirrored.From, mirrored.Text));
    }

    [Fact]
    public async Task A_changed_identity_on_a_known_device_is_held_until_trusted()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await alice.Keys.SendTextAsync(alice.Client, "bob", "hi").WithTimeout();
        Assert.Equal("hi", (await bob.NextAsync()).Text);

        // Someone (a server, a thief) starts a session as alice's device with another identity.
        using E2eDevice impostor = E2eDevice.Create("alice");
        BundleList bobs = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        Parley.EndToEnd.Session.E2eSession forged = Parley.EndToEnd.Session.E2eSession.Initiate(impostor.IdentityPair(), KeyDirectoryBlobs.ToBundle(bobs.Devices[0]));
        await alice.Client.SendToDeviceAsync("bob", bob.Id, E2eDevice.ContentType, forged.Encrypt("trust me"u8)).WithTimeout();
        E2eIncoming held = await bob.NextAsync();
        Assert.False(held.Opened);
        Assert.Contains("new identity key", held.Reason);
        forged.Dispose();
    }

    [Fact]
    public async Task A_decrypted_payload_of_an_unknown_kind_is_reported_not_shown()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await alice.Keys.SendTextAsync(alice.Client, "bob", "first").WithTimeout();
        Assert.Equal("first", (await bob.NextAsync()).Text);
        Assert.False(E2ePayload.TryDecode([9, .. new byte[16], (byte)'x'], out _, out _));
        Assert.False(E2ePayload.TryDecode([E2ePayload.Text, .. new byte[16], 0xC3], out _, out _));
        Assert.True(E2ePayload.TryDecode(E2ePayload.Encode(E2ePayload.Broadcast, "hi"), out byte kind, out string text));
        Assert.Equal((E2ePayload.Broadcast, "hi"), (kind, text));
        await alice.Keys.SendBroadcastCopyAsync(alice.Client, "bob", "to all").WithTimeout();
        E2eIncoming copy = await bob.NextAsync();
        Assert.True(copy.Broadcast);
        Assert.Equal("to all", copy.Text);
    }

    [Fact]
    public async Task One_time_keys_used_up_by_senders_are_topped_up_with_fresh_ids_and_still_work()
    {
        await using TestServer server = await TestServer.StartAsync();
        using E2eDevice bobKeys = E2eDevice.Create("bob", oneTimePrekeys: 3, oneTimeKemPrekeys: 1);
        E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob", bobKeys);
        // Three senders use up bob's one-time keys (and more than the KEM one).
        for (int i = 0; i < 3; i++)
        {
            await using E2eTestDevice sender = await E2eTestDevice.ConnectAsync(server, $"sender{i}");
            await sender.Keys.SendTextAsync(sender.Client, "bob", $"from {i}").WithTimeout();
            Assert.Equal($"from {i}", (await bob.NextAsync()).Text);
        }
        int saves = 0;
        int added = await bobKeys.ReplenishAsync(bob.Client, () => saves++).WithTimeout();
        Assert.Equal(E2eDevice.OneTimeTarget + E2eDevice.KemTarget, added);
        Assert.Equal(1, saves);
        KeysPublished left = await bob.Client.PublishKeysAsync(bobKeys.Identity.Encode(), null, null, null, null).WithTimeout();
        Assert.Equal((E2eDevice.OneTimeTarget, E2eDevice.KemTarget), (left.OneTimePrekeys, left.OneTimeKemPrekeys));
        // Above the low-water mark nothing more is added.
        Assert.Equal(0, await bobKeys.ReplenishAsync(bob.Client, () => saves++).WithTimeout());

        // A new sender gets one of the fresh keys, and bob can open it.
        await using E2eTestDevice late = await E2eTestDevice.ConnectAsync(server, "late");
        BundleList peek = await late.Client.FetchBundlesAsync("bob").WithTimeout();
        Assert.NotNull(Assert.Single(peek.Devices).OneTimePrekey);
        await late.Keys.SendTextAsync(late.Client, "bob", "after the top-up").WithTimeout();
        Assert.Equal("after the top-up", (await bob.NextAsync()).Text);
        await bob.DisposeAsync();
    }

    [Fact]
    public async Task Many_sends_fetch_keys_once_and_use_up_none_of_the_senders_own()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        int before = (await bob.Client.PublishKeysAsync(bob.Keys.Identity.Encode(), null, null, null, null).WithTimeout()).OneTimePrekeys;
        for (int i = 0; i < 5; i++)
        {
            await alice.Keys.SendTextAsync(alice.Client, "bob", $"n{i}").WithTimeout();
            Assert.Equal($"n{i}", (await bob.NextAsync()).Text);
        }
        KeysPublished aliceLeft = await alice.Client.PublishKeysAsync(alice.Keys.Identity.Encode(), null, null, null, null).WithTimeout();
        KeysPublished bobLeft = await bob.Client.PublishKeysAsync(bob.Keys.Identity.Encode(), null, null, null, null).WithTimeout();
        Assert.Equal(20, aliceLeft.OneTimePrekeys);
        Assert.Equal(before - 1, bobLeft.OneTimePrekeys);
    }

    [Fact]
    public async Task Garbage_and_mutated_envelopes_are_reported_never_thrown_and_the_session_survives()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await alice.Keys.SendTextAsync(alice.Client, "bob", "genuine").WithTimeout();
        Assert.Equal("genuine", (await bob.NextAsync()).Text);

        // Opened directly: random bodies, then single-byte changes of a real first envelope from carol.
        Random random = new(20261203);
        for (int length = 0; length < 300; length += 7)
        {
            byte[] body = new byte[length];
            random.NextBytes(body);
            Assert.False(bob.Keys.Open(new ChatMessage(1, "alice", "bob", 0, E2eDevice.ContentType, body, false, bob.Id, alice.Id)).Opened);
        }
        await using E2eTestDevice carol = await E2eTestDevice.ConnectAsync(server, "carol");
        DeviceBundle bobs = Assert.Single((await carol.Client.FetchBundlesAsync("bob").WithTimeout()).Devices);
        byte[] real;
        using (Parley.EndToEnd.Session.E2eSession probe = Parley.EndToEnd.Session.E2eSession.Initiate(carol.Keys.IdentityPair(), KeyDirectoryBlobs.ToBundle(bobs)))
        {
            real = probe.Encrypt(E2ePayload.Encode(E2ePayload.Text, "probe"));
        }
        for (int i = 0; i < real.Length; i += Math.Max(1, real.Length / 97))
        {
            byte[] mutated = (byte[])real.Clone();
            mutated[i] ^= 0x40;
            Assert.False(bob.Keys.Open(new ChatMessage(1, "carol", "bob", 0, E2eDevice.ContentType, mutated, false, bob.Id, carol.Id)).Opened);
        }
        // The unchanged one opens: the mutations failed because of the change, not the set-up.
        Assert.Equal("probe", bob.Keys.Open(new ChatMessage(1, "carol", "bob", 0, E2eDevice.ContentType, real, false, bob.Id, carol.Id)).Text);
        await alice.Keys.SendTextAsync(alice.Client, "bob", "still genuine").WithTimeout();
        Assert.Equal("still genuine", (await bob.NextAsync()).Text);
    }

    [Fact]
    public async Task A_forged_or_malformed_bundle_gets_no_session_and_no_exception()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using ChatClient mallory = await server.LoginAsync("mallory");
        // The server treats keys as opaque, so a device can publish anything: here a valid identity with garbage prekeys.
        using E2eDevice real = E2eDevice.Create("mallory");
        await mallory.PublishKeysAsync(real.Identity.Encode(), new byte[100], new byte[1253], null, null).WithTimeout();
        Assert.Equal(new E2eSent(0, Delivered: false), await alice.Keys.SendTextAsync(alice.Client, "mallory", "hi").WithTimeout());
        Assert.Equal(1, alice.Keys.InvalidBundles);
        Assert.Equal(0, await StoredMessages.CountForAsync(server, "mallory"));
    }

    [Fact]
    public void A_device_keeps_a_bounded_number_of_one_time_private_keys()
    {
        using E2eDevice many = E2eDevice.Create("hoarder", oneTimePrekeys: E2eDevice.MaxLocalOneTimeKeys + 50, oneTimeKemPrekeys: 1);
        Assert.Equal(E2eDevice.MaxLocalOneTimeKeys, many.LocalOneTimeKeys.OneTime);
    }

    [Fact]
    public async Task A_user_without_keys_gets_nothing_rather_than_plaintext()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await (await server.LoginAsync("legacy")).DisposeAsync();
        Assert.Equal(new E2eSent(0, Delivered: false), await alice.Keys.SendTextAsync(alice.Client, "legacy", "secret").WithTimeout());
        Assert.Equal(0, await StoredMessages.CountForAsync(server, "legacy"));
    }

    private static bool ServerFilesContain(TestServer server, byte[] marker)
    {
        string database = StoredMessages.DatabasePath(server);
        foreach (string path in new[] { database, database + "-wal" })
        {
            if (File.Exists(path))
            {
                using FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using MemoryStream copy = new();
                stream.CopyTo(copy);
                if (copy.ToArray().AsSpan().IndexOf(marker) >= 0)
                {
                    return true;
                }
            }
        }
        return false;
    }
}
