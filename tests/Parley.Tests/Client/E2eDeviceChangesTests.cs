using System.Threading.Channels;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.EndToEnd;
using Parley.EndToEnd.Session;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Client;

/// <summary>
/// Devices and sessions over time, through a real server: a contact's device added after the
/// first session, a device that goes away, both sides starting a session at once, repeated
/// first messages, signed-prekey rotation, messages held for a changed identity, and the cap on sessions.
/// </summary>
public class E2eDeviceChangesTests
{
    [Fact]
    public async Task A_contacts_device_added_later_is_found_on_the_next_send_and_gets_the_message()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice phone = await E2eTestDevice.ConnectAsync(server, "bob");
        Assert.Equal(new E2eSent(1, Delivered: true), await alice.Keys.SendTextAsync(alice.Client, "bob", "one").WithTimeout());
        Assert.Equal("one", (await phone.NextAsync()).Text);

        // Bob adds a laptop after alice's session with his phone exists.
        await using E2eTestDevice laptop = await E2eTestDevice.ConnectAsync(server, "bob");
        E2eSent sent = await alice.Keys.SendTextAsync(alice.Client, "bob", "two").WithTimeout();
        Assert.Equal(2, sent.RecipientDevices);
        Assert.Equal([new PeerDevice("bob", laptop.Id)], sent.NewDevices);
        Assert.Equal("two", (await phone.NextAsync()).Text);
        E2eIncoming onLaptop = await laptop.NextAsync();
        Assert.Equal(("alice", "two"), (onLaptop.From, onLaptop.Text));

        // Found once: the next send goes to both without announcing anything.
        Assert.Equal(new E2eSent(2, Delivered: true), await alice.Keys.SendTextAsync(alice.Client, "bob", "three").WithTimeout());
        Assert.Equal("three", (await laptop.NextAsync()).Text);
        Assert.Equal("three", (await phone.NextAsync()).Text);
    }

    [Fact]
    public async Task The_first_message_from_a_known_users_new_device_is_marked_new()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice phone = await E2eTestDevice.ConnectAsync(server, "bob");
        await phone.Keys.SendTextAsync(phone.Client, "alice", "from the phone").WithTimeout();
        E2eIncoming first = await alice.NextAsync();
        Assert.False(first.FromNewDevice, "the first device of a user is not news");

        await using E2eTestDevice laptop = await E2eTestDevice.ConnectAsync(server, "bob");
        await laptop.Keys.SendTextAsync(laptop.Client, "alice", "from the laptop").WithTimeout();
        E2eIncoming second = await alice.NextAsync();
        Assert.Equal("from the laptop", second.Text);
        Assert.True(second.FromNewDevice);
        Assert.Equal(laptop.Id, second.FromDevice);
        await laptop.Keys.SendTextAsync(laptop.Client, "alice", "again").WithTimeout();
        Assert.False((await alice.NextAsync()).FromNewDevice);
    }

    [Fact]
    public async Task A_revoked_device_loses_its_session_and_is_reported_gone()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice phone = await E2eTestDevice.ConnectAsync(server, "bob");
        await using E2eTestDevice laptop = await E2eTestDevice.ConnectAsync(server, "bob");
        Assert.Equal(2, (await alice.Keys.SendTextAsync(alice.Client, "bob", "to both").WithTimeout()).RecipientDevices);

        Assert.Equal("to both", (await phone.NextAsync()).Text);
        await phone.Client.RevokeDeviceAsync(laptop.Id).WithTimeout();

        // The copy to the revoked laptop is refused; the phone's copy still goes, and the laptop is reported gone.
        E2eSent after = await alice.Keys.SendTextAsync(alice.Client, "bob", "after the revoke").WithTimeout();
        Assert.Equal(1, after.RecipientDevices);
        Assert.Equal([new PeerDevice("bob", laptop.Id)], after.RemovedDevices);
        Assert.Equal("after the revoke", (await phone.NextAsync()).Text);
        Assert.Equal([phone.Id], alice.Keys.KnownDevicesOf("bob").Select(d => d.DeviceId));
        Assert.Equal(new E2eSent(1, Delivered: true), await alice.Keys.SendTextAsync(alice.Client, "bob", "only the phone").WithTimeout());
    }

    [Fact]
    public async Task Both_sides_starting_at_once_read_every_message_and_converge()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        // Nothing is opened until both have sent: each device starts a session of its own.
        Channel<ChatMessage> toAlice = Channel.CreateUnbounded<ChatMessage>();
        Channel<ChatMessage> toBob = Channel.CreateUnbounded<ChatMessage>();
        alice.Client.MessageHandler = m => toAlice.Writer.WriteAsync(m);
        bob.Client.MessageHandler = m => toBob.Writer.WriteAsync(m);
        await alice.Keys.SendTextAsync(alice.Client, "bob", "alice starts").WithTimeout();
        await alice.Keys.SendTextAsync(alice.Client, "bob", "alice, still on her own session").WithTimeout();
        await bob.Keys.SendTextAsync(bob.Client, "alice", "bob starts").WithTimeout();

        Assert.Equal("bob starts", alice.Keys.Open(await toAlice.Reader.ReadAsync().AsTask().WithTimeout()).Text);
        Assert.Equal("alice starts", bob.Keys.Open(await toBob.Reader.ReadAsync().AsTask().WithTimeout()).Text);
        ChatMessage late = await toBob.Reader.ReadAsync().AsTask().WithTimeout();
        // Each now sends on whichever session it holds as current; both must read, both ways, several times.
        for (int i = 0; i < 3; i++)
        {
            byte[] a = Envelope(alice, "bob", $"a{i}");
            byte[] b = Envelope(bob, "alice", $"b{i}");
            Assert.Equal($"b{i}", alice.Keys.Open(Message("bob", bob.Id, "alice", b)).Text);
            Assert.Equal($"a{i}", bob.Keys.Open(Message("alice", alice.Id, "bob", a)).Text);
        }
        // A message that was still on its way on alice's first session reads too.
        Assert.Equal("alice, still on her own session", bob.Keys.Open(late).Text);
        // And the conversation goes on through the server.
        alice.Client.MessageHandler = m => alice.Inbox.Writer.WriteAsync(alice.Keys.Open(m));
        bob.Client.MessageHandler = m => bob.Inbox.Writer.WriteAsync(bob.Keys.Open(m));
        await alice.Keys.SendTextAsync(alice.Client, "bob", "after").WithTimeout();
        Assert.Equal("after", (await bob.NextAsync()).Text);
        await bob.Keys.SendTextAsync(bob.Client, "alice", "and back").WithTimeout();
        Assert.Equal("and back", (await alice.NextAsync()).Text);
    }

    [Fact]
    public async Task A_repeated_first_message_is_reported_and_starts_nothing()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        bob.Client.MessageHandler = null;
        BundleList bobs = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        using E2eSession session = E2eSession.Initiate(alice.Keys.IdentityPair(), KeyDirectoryBlobs.ToBundle(bobs.Devices[0]));
        byte[] first = session.Encrypt(E2ePayload.Encode(E2ePayload.Text, "once"));
        byte[] second = session.Encrypt(E2ePayload.Encode(E2ePayload.Text, "twice"));
        Assert.Equal("once", bob.Keys.Open(Message("alice", alice.Id, "bob", first)).Text);
        byte[] before = bob.Keys.ExportState();

        E2eIncoming replay = bob.Keys.Open(Message("alice", alice.Id, "bob", first));
        Assert.False(replay.Opened);
        Assert.Contains("already read", replay.Reason);
        Assert.Equal(before, bob.Keys.ExportState());
        Assert.Equal("twice", bob.Keys.Open(Message("alice", alice.Id, "bob", second)).Text);
    }

    [Fact]
    public async Task The_signed_prekey_rotates_weekly_and_a_retired_one_reads_late_first_messages_for_30_days()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob", E2eDevice.Create("bob", clock: clock));
        bob.Client.MessageHandler = null;
        uint first = bob.Keys.SignedPrekeyId;
        // A bundle fetched before the rotation: its first message arrives after it.
        BundleList early = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        BundleList earlier = await alice.Client.FetchBundlesAsync("bob").WithTimeout();

        await bob.Keys.ReplenishAsync(bob.Client, () => { }).WithTimeout();
        Assert.Equal(first, bob.Keys.SignedPrekeyId);
        clock.Advance(E2eDevice.SignedPrekeyRotation + TimeSpan.FromMinutes(1));
        await bob.Keys.ReplenishAsync(bob.Client, () => { }).WithTimeout();
        Assert.NotEqual(first, bob.Keys.SignedPrekeyId);
        Assert.Equal(1, bob.Keys.RetiredPrekeyCount);

        // New senders get the new signed prekey from the server.
        BundleList fresh = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        Assert.Equal(bob.Keys.SignedPrekeyId, KeyDirectoryBlobs.ToBundle(fresh.Devices[0]).SignedPrekey.Id);
        // The late message made from the old bundle still opens.
        using E2eSession late = E2eSession.Initiate(alice.Keys.IdentityPair(), KeyDirectoryBlobs.ToBundle(early.Devices[0]));
        Assert.Equal("late", bob.Keys.Open(Message("alice", alice.Id, "bob", late.Encrypt(E2ePayload.Encode(E2ePayload.Text, "late")))).Text);

        // After the retired lifetime the old private key is gone: a message from that bundle fails closed.
        clock.Advance(E2eDevice.RetiredPrekeyLifetime);
        await bob.Keys.ReplenishAsync(bob.Client, () => { }).WithTimeout();
        Assert.Equal(1, bob.Keys.RetiredPrekeyCount);
        using E2eDevice carolKeys = E2eDevice.Create("carol");
        using E2eSession tooLate = E2eSession.Initiate(carolKeys.IdentityPair(), KeyDirectoryBlobs.ToBundle(earlier.Devices[0]));
        E2eIncoming refused = bob.Keys.Open(Message("carol", "c0ffee", "bob", tooLate.Encrypt(E2ePayload.Encode(E2ePayload.Text, "too late"))));
        Assert.Equal(E2eError.PrekeyMismatch, refused.Error);

        // The rotation and the retired keys survive a restart.
        using E2eDevice restored = E2eDevice.ImportState(bob.Keys.ExportState(), clock);
        Assert.Equal(bob.Keys.SignedPrekeyId, restored.SignedPrekeyId);
        Assert.Equal(1, restored.RetiredPrekeyCount);
    }

    [Fact]
    public async Task A_message_from_a_changed_identity_is_kept_unread_across_a_restart_and_opened_on_trust()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await alice.Keys.SendTextAsync(alice.Client, "bob", "hi").WithTimeout();
        Assert.Equal("hi", (await bob.NextAsync()).Text);

        // Alice's device comes back with another identity (a reinstall, or an impostor).
        using E2eDevice reinstalled = E2eDevice.Create("alice");
        BundleList bobs = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        using E2eSession session = E2eSession.Initiate(reinstalled.IdentityPair(), KeyDirectoryBlobs.ToBundle(bobs.Devices[0]));
        await alice.Client.SendToDeviceAsync("bob", bob.Id, E2eDevice.ContentType, session.Encrypt(E2ePayload.Encode(E2ePayload.Text, "it is me"))).WithTimeout();
        E2eIncoming held = await bob.NextAsync();
        Assert.True(held.HeldUntilTrusted);
        Assert.Null(held.Text);
        await Assert.ThrowsAsync<IdentityChangedException>(() => bob.Keys.SendTextAsync(bob.Client, "alice", "not to an unverified key").WithTimeout());

        using E2eDevice restarted = E2eDevice.ImportState(bob.Keys.ExportState());
        Assert.Equal(1, restarted.HeldMessageCount);
        IReadOnlyList<E2eIncoming> opened = restarted.TrustNewIdentity("alice", alice.Id);
        Assert.Equal(["it is me"], opened.Select(m => m.Text));
        Assert.Equal(0, restarted.HeldMessageCount);
        // The new identity is now the pinned one: the safety number is computed over it.
        Assert.Equal(Parley.EndToEnd.SafetyNumbers.SafetyNumber.ForIdentities(restarted.Identity, "bob", reinstalled.Identity, "alice"),
            restarted.SafetyNumberWith("alice", alice.Id));
    }

    [Fact]
    public async Task Sessions_are_capped_and_the_least_recently_used_peer_device_goes_first()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        alice.Keys.PeerDeviceLimit = 2;
        List<E2eTestDevice> peers = [];
        try
        {
            foreach (string name in (string[])["bob", "carol", "dave"])
            {
                peers.Add(await E2eTestDevice.ConnectAsync(server, name));
            }
            await alice.Keys.SendTextAsync(alice.Client, "bob", "1").WithTimeout();
            await alice.Keys.SendTextAsync(alice.Client, "carol", "2").WithTimeout();
            await alice.Keys.SendTextAsync(alice.Client, "bob", "3").WithTimeout();
            await alice.Keys.SendTextAsync(alice.Client, "dave", "4").WithTimeout();
            Assert.Equal(2, alice.Keys.PeerDeviceCount);
            // Carol was used least recently: her session went; bob's and dave's stay.
            byte[] state = alice.Keys.ExportState();
            using E2eDevice restored = E2eDevice.ImportState(state);
            Assert.Equal(2, restored.PeerDeviceCount);
            // Carol answers on the session alice's message started, once she has read it (it is
            // opened as it arrives, on her connection's reader: without this wait she might have none yet).
            Assert.Equal("2", (await peers[1].NextAsync()).Text);
            E2eIncoming fromCarol = alice.Keys.Open(Message("carol", peers[1].Id, "alice", Envelope(peers[1], "alice", "x")));
            // The price of the cap, reported rather than hidden: carol's next message has no session here.
            Assert.False(fromCarol.Opened);
            Assert.Contains("no session", fromCarol.Reason);
        }
        finally
        {
            foreach (E2eTestDevice peer in peers)
            {
                await peer.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A send marks the recipient's sessions used before it starts a session with a new device of
    /// our own: at the cap, that new session pushes out someone else, not the recipient (found by
    /// review: the send went to no device of bob's).
    /// </summary>
    [Fact]
    public async Task A_send_never_forgets_its_own_recipient_to_make_room_for_a_new_device()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        alice.Keys.PeerDeviceLimit = 2;
        await using E2eTestDevice laptop = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await using E2eTestDevice carol = await E2eTestDevice.ConnectAsync(server, "carol");
        // alice's sessions come from reading: bob's first, then carol's. She has none with her laptop yet.
        await bob.Keys.SendTextAsync(bob.Client, "alice", "from bob").WithTimeout();
        Assert.Equal("from bob", (await alice.NextAsync()).Text);
        await carol.Keys.SendTextAsync(carol.Client, "alice", "from carol").WithTimeout();
        Assert.Equal("from carol", (await alice.NextAsync()).Text);

        // Her first send looks for her own devices and starts a session with the laptop: bob, used
        // least recently until this send, must not be the one forgotten to make room.
        E2eSent sent = await alice.Keys.SendTextAsync(alice.Client, "bob", "to bob").WithTimeout();
        Assert.Equal(1, sent.RecipientDevices);
        Assert.Equal("to bob", (await bob.NextAsync()).Text);
        E2eIncoming copy;
        do
        {
            copy = await laptop.NextAsync();
        }
        while (copy.Text != "to bob");
        Assert.Equal(2, alice.Keys.PeerDeviceCount);
    }

    /// <summary>
    /// A server relabelling alice's first message as carol's (PROTOCOL.md §13.10 "Trust"): once alice's
    /// identity key is pinned for one user, a first message or a bundle under it in another user's
    /// name gets no session and is reported (found by review; the page's test covers bundles too). A first
    /// relabelled message from a user never seen before cannot be told apart: that is what safety
    /// numbers are for.
    /// </summary>
    [Fact]
    public async Task An_identity_key_pinned_for_one_user_is_never_taken_as_another_users()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        bob.Client.MessageHandler = null;
        BundleList bobs = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        byte[] FirstMessage(string text)
        {
            using E2eSession session = E2eSession.Initiate(alice.Keys.IdentityPair(), KeyDirectoryBlobs.ToBundle(bobs.Devices[0]) with { OneTimePrekey = null });
            return session.Encrypt(E2ePayload.Encode(E2ePayload.Text, text));
        }

        byte[] first = FirstMessage("pay the invoice to IBAN X");
        Assert.Equal("pay the invoice to IBAN X", bob.Keys.Open(Message("alice", alice.Id, "bob", first)).Text);
        E2eIncoming relabelled = bob.Keys.Open(Message("carol", "c0ffee", "bob", FirstMessage("the same key, another name")));
        Assert.False(relabelled.Opened);
        Assert.Equal(E2eError.IdentityOfAnotherUser, relabelled.Error);
        Assert.Contains("identity key of alice's device", relabelled.Reason);
        Assert.DoesNotContain("carol", bob.Keys.KnownUsers());

    }

    /// <summary>
    /// First messages from ever more made-up devices: past the bound of remembered peers (lowered to
    /// 5) the pins of devices without a session go, so the device row written at every message stays
    /// bounded and the state loads (found by review: pins grew without end, up to a state the loader refuses).
    /// </summary>
    [Fact]
    public async Task Pinned_identities_past_the_bound_go_those_without_a_session_first()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        bob.Client.MessageHandler = null;
        bob.Keys.PeerDeviceLimit = 3;
        bob.Keys.RememberedPeerLimit = 5;
        // Fetched until the one-time KEM prekeys are handed out: the last-resort one serves every made-up device.
        BundleList bobs = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        for (int i = 0; i < 30; i++)
        {
            bobs = await alice.Client.FetchBundlesAsync("bob").WithTimeout();
        }
        Parley.EndToEnd.Prekeys.PrekeyBundle bundle = KeyDirectoryBlobs.ToBundle(bobs.Devices[0]) with { OneTimePrekey = null };
        for (int i = 0; i < 12; i++)
        {
            using E2eDevice fake = E2eDevice.Create($"u{i}");
            using E2eSession session = E2eSession.Initiate(fake.IdentityPair(), bundle);
            E2eIncoming opened = bob.Keys.Open(Message($"u{i}", "d", "bob", session.Encrypt(E2ePayload.Encode(E2ePayload.Text, "x"))));
            Assert.True(opened.Opened, $"{i}: {opened.Error} {opened.Reason}");
        }
        Assert.Equal(3, bob.Keys.PeerDeviceCount);
        IReadOnlyList<string> remembered = bob.Keys.KnownUsers();
        Assert.Equal(5, remembered.Count);
        // The three with sessions (the latest) are among those remembered.
        Assert.Subset(remembered.ToHashSet(), new HashSet<string> { "u9", "u10", "u11" });
        using E2eDevice restored = E2eDevice.ImportState(bob.Keys.ExportState());
        Assert.Equal(5, restored.KnownUsers().Count);
    }

    private static ChatMessage Message(string from, string fromDevice, string to, byte[] body) =>
        new(1, from, to, 0, E2eDevice.ContentType, body, false, null, fromDevice);

    /// <summary>The envelope <paramref name="device"/>'s current session with <paramref name="to"/> makes, without sending it.</summary>
    private static byte[] Envelope(E2eTestDevice device, string to, string text) =>
        device.Keys.EncryptForTest(to, E2ePayload.Encode(E2ePayload.Text, text));
}
