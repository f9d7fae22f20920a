using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// The key directory (PROTOCOL.md §11.5): devices publish opaque public keys; a fetch hands each
/// one-time key out exactly once and falls back to the signed keys when they run out; every bound
/// is tested as an attacker would push it.
/// </summary>
public class KeyDirectoryTests
{
    private static byte[] Key(string tag) => System.Text.Encoding.UTF8.GetBytes(tag);

    private static byte[][] Keys(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => Key($"{prefix}{i}"))];

    [Fact]
    public async Task Each_one_time_key_is_handed_out_once_then_the_last_resort_keys_are()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        KeysPublished published = await alice.PublishKeysAsync(Key("ik"), Key("spk"), Key("kem-last"), Keys("otk", 2), Keys("kem", 1)).WithTimeout();
        Assert.Equal((2, 1), (published.OneTimePrekeys, published.OneTimeKemPrekeys));

        await using ChatClient bob = await server.LoginAsync("bob");
        DeviceBundle first = Assert.Single((await bob.FetchBundlesAsync("alice").WithTimeout()).Devices);
        DeviceBundle second = Assert.Single((await bob.FetchBundlesAsync("alice").WithTimeout()).Devices);
        DeviceBundle third = Assert.Single((await bob.FetchBundlesAsync("alice").WithTimeout()).Devices);

        Assert.Equal(Key("ik"), first.IdentityKey);
        Assert.Equal(Key("spk"), third.SignedPrekey);
        Assert.Equal([Key("otk0"), Key("otk1")], new[] { first.OneTimePrekey!, second.OneTimePrekey! });
        Assert.Null(third.OneTimePrekey);
        Assert.Equal(Key("kem0"), first.KemPrekey);
        Assert.False(first.KemPrekeyIsLastResort);
        Assert.Equal(Key("kem-last"), second.KemPrekey);
        Assert.True(second.KemPrekeyIsLastResort);

        // An empty publish reports what is left, so a device knows when to replenish.
        KeysPublished left = await alice.PublishKeysAsync(Key("ik"), null, null, null, null).WithTimeout();
        Assert.Equal((0, 0), (left.OneTimePrekeys, left.OneTimeKemPrekeys));
    }

    [Fact]
    public async Task Concurrent_fetchers_never_get_the_same_one_time_key()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        await alice.PublishKeysAsync(Key("ik"), Key("spk"), Key("kem-last"), Keys("otk", 8), []).WithTimeout();
        ChatClient[] fetchers = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => server.LoginAsync($"fetcher{i}")));
        try
        {
            BundleList[] lists = await Task.WhenAll(fetchers.Select(f => f.FetchBundlesAsync("alice"))).WithTimeout();
            string[] handedOut = [.. lists.Select(l => Assert.Single(l.Devices).OneTimePrekey).OfType<byte[]>().Select(System.Text.Encoding.UTF8.GetString)];
            Assert.Equal(8, handedOut.Length);
            Assert.Equal(8, handedOut.Distinct().Count());
        }
        finally
        {
            foreach (ChatClient fetcher in fetchers)
            {
                await fetcher.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Every_device_of_a_user_has_its_own_bundle_and_a_revoked_one_has_none()
    {
        await using TestServer server = await TestServer.StartAsync();
        ChatClient phone = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        string phoneId = (await phone.LoginAsync("alice", "correct horse", null).WithTimeout()).DeviceId!;
        await phone.PublishKeysAsync(Key("phone-ik"), Key("spk"), Key("kem"), null, null).WithTimeout();
        await using ChatClient laptop = await server.LoginAsync("alice");
        await laptop.PublishKeysAsync(Key("laptop-ik"), Key("spk"), Key("kem"), null, null).WithTimeout();
        await using ChatClient bob = await server.LoginAsync("bob");

        DeviceBundle[] both = (await bob.FetchBundlesAsync("alice").WithTimeout()).Devices;
        Assert.Equal(2, both.Length);
        Assert.Contains(both, b => b.DeviceId == phoneId && b.IdentityKey.SequenceEqual(Key("phone-ik")));

        await phone.DisposeAsync();
        await laptop.RevokeDeviceAsync(phoneId).WithTimeout();
        DeviceBundle left = Assert.Single((await bob.FetchBundlesAsync("alice").WithTimeout()).Devices);
        Assert.Equal(Key("laptop-ik"), left.IdentityKey);
    }

    [Fact]
    public async Task A_send_to_a_device_lists_the_recipients_keyed_devices_and_a_fetch_can_name_devices()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient phone = await server.LoginAsync("alice");
        await phone.PublishKeysAsync(Key("phone-ik"), Key("spk"), Key("kem"), Keys("phone-otk", 2), null).WithTimeout();
        await using ChatClient laptop = await server.LoginAsync("alice");
        await laptop.PublishKeysAsync(Key("laptop-ik"), Key("spk"), Key("kem"), Keys("laptop-otk", 2), null).WithTimeout();
        // A device without keys (an old client) is not listed, but can still be written to.
        await using ChatClient legacy = await server.LoginAsync("alice");
        await using ChatClient bob = await server.LoginAsync("bob");

        SendResult result = await bob.SendToDeviceAsync("alice", phone.DeviceId!, "application/octet-stream", [1]).WithTimeout();
        Assert.Equal(new[] { phone.DeviceId!, laptop.DeviceId! }.Order(StringComparer.Ordinal), result.Devices);
        Assert.Null((await bob.SendTextAsync("alice", "to the account").WithTimeout()).Devices);
        Assert.NotNull((await bob.SendToDeviceAsync("alice", legacy.DeviceId!, "application/octet-stream", [1]).WithTimeout()).Devices);

        // Naming the laptop takes only the laptop's one-time key; the phone keeps both of its own.
        DeviceBundle only = Assert.Single((await bob.FetchBundlesAsync("alice", [laptop.DeviceId!]).WithTimeout()).Devices);
        Assert.Equal(laptop.DeviceId, only.DeviceId);
        Assert.Equal(2, (await phone.PublishKeysAsync(Key("phone-ik"), null, null, null, null).WithTimeout()).OneTimePrekeys);
        Assert.Equal(1, (await laptop.PublishKeysAsync(Key("laptop-ik"), null, null, null, null).WithTimeout()).OneTimePrekeys);
        Assert.Empty((await bob.FetchBundlesAsync("alice", ["no-such-device"]).WithTimeout()).Devices);

        // Naming more devices than an account can have is refused before any store work.
        string[] tooMany = [.. Enumerable.Range(0, MessengerLimits.MaxFetchDevices + 1).Select(i => $"d{i}")];
        ChatException refused = await Assert.ThrowsAsync<ChatException>(() => bob.FetchBundlesAsync("alice", tooMany).WithTimeout());
        Assert.Equal(ErrorCodes.BadRequest, refused.Code);
    }

    [Fact]
    public async Task A_device_cannot_change_its_identity_key_or_start_without_signed_keys()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        ChatException unsigned = await Assert.ThrowsAsync<ChatException>(() => alice.PublishKeysAsync(Key("ik"), null, null, Keys("otk", 1), null).WithTimeout());
        Assert.Equal(ErrorCodes.BadRequest, unsigned.Code);
        await alice.PublishKeysAsync(Key("ik"), Key("spk"), Key("kem"), null, null).WithTimeout();
        ChatException changed = await Assert.ThrowsAsync<ChatException>(() => alice.PublishKeysAsync(Key("other ik"), Key("spk2"), null, Keys("x", 3), null).WithTimeout());
        Assert.Equal(ErrorCodes.IdentityKeyChanged, changed.Code);

        // Nothing of the refused publish was stored: the signed prekey is the first one, and no one-time keys.
        await using ChatClient bob = await server.LoginAsync("bob");
        DeviceBundle bundle = Assert.Single((await bob.FetchBundlesAsync("alice").WithTimeout()).Devices);
        Assert.Equal(Key("spk"), bundle.SignedPrekey);
        Assert.Null(bundle.OneTimePrekey);
    }

    [Fact]
    public async Task Oversized_keys_too_many_keys_and_a_full_device_are_refused_and_store_nothing()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        ChatException huge = await Assert.ThrowsAsync<ChatException>(() =>
            alice.PublishKeysAsync(new byte[MessengerLimits.MaxPublicKeyBytes + 1], Key("spk"), Key("kem"), null, null).WithTimeout());
        Assert.Equal(ErrorCodes.BadRequest, huge.Code);
        ChatException empty = await Assert.ThrowsAsync<ChatException>(() =>
            alice.PublishKeysAsync(Key("ik"), Key("spk"), Key("kem"), [[]], null).WithTimeout());
        Assert.Equal(ErrorCodes.BadRequest, empty.Code);
        ChatException many = await Assert.ThrowsAsync<ChatException>(() =>
            alice.PublishKeysAsync(Key("ik"), Key("spk"), Key("kem"), Keys("otk", MessengerLimits.MaxOneTimePrekeysPerPublish + 1), null).WithTimeout());
        Assert.Equal(ErrorCodes.TooManyKeys, many.Code);

        // Fill the device to its bound in allowed batches; one more key is refused.
        int held = 0;
        while (held < MessengerLimits.MaxOneTimePrekeysPerDevice)
        {
            int batch = Math.Min(MessengerLimits.MaxOneTimePrekeysPerPublish, MessengerLimits.MaxOneTimePrekeysPerDevice - held);
            held = (await alice.PublishKeysAsync(Key("ik"), Key("spk"), Key("kem"), Keys($"b{held}-", batch), null).WithTimeout()).OneTimePrekeys;
        }
        ChatException full = await Assert.ThrowsAsync<ChatException>(() => alice.PublishKeysAsync(Key("ik"), null, null, Keys("extra", 1), null).WithTimeout());
        Assert.Equal(ErrorCodes.TooManyKeys, full.Code);
        Assert.Equal(MessengerLimits.MaxOneTimePrekeysPerDevice, (await alice.PublishKeysAsync(Key("ik"), null, null, null, null).WithTimeout()).OneTimePrekeys);
    }

    [Fact]
    public async Task Draining_someones_one_time_keys_is_bounded_by_the_fetchers_rate()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 5, SenderMessagesPerSecond = 0.001, MaxBroadcastRecipients = 5 });
        await using ChatClient alice = await server.LoginAsync("alice");
        await alice.PublishKeysAsync(Key("ik"), Key("spk"), Key("kem"), Keys("otk", 50), null).WithTimeout();
        await using ChatClient mallory = await server.LoginAsync("mallory");
        for (int i = 0; i < 5; i++)
        {
            await mallory.FetchBundlesAsync("alice").WithTimeout();
        }
        ChatException limited = await Assert.ThrowsAsync<ChatException>(() => mallory.FetchBundlesAsync("alice").WithTimeout());
        Assert.Equal(ErrorCodes.RateLimited, limited.Code);
        Assert.Equal(45, (await alice.PublishKeysAsync(Key("ik"), null, null, null, null).WithTimeout()).OneTimePrekeys);
    }

    [Fact]
    public async Task A_device_fetching_its_own_account_never_uses_up_its_own_keys()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient phone = await server.LoginAsync("alice");
        await phone.PublishKeysAsync(Key("phone-ik"), Key("spk"), Key("kem"), Keys("otk", 2), null).WithTimeout();
        Assert.Empty((await phone.FetchBundlesAsync("alice").WithTimeout()).Devices);
        await using ChatClient laptop = await server.LoginAsync("alice");
        await laptop.PublishKeysAsync(Key("laptop-ik"), Key("spk"), Key("kem"), null, null).WithTimeout();
        Assert.Equal(Key("laptop-ik"), Assert.Single((await phone.FetchBundlesAsync("alice").WithTimeout()).Devices).IdentityKey);
        Assert.Equal(2, (await phone.PublishKeysAsync(Key("phone-ik"), null, null, null, null).WithTimeout()).OneTimePrekeys);
    }

    [Fact]
    public async Task Publishing_in_a_loop_is_bounded_by_the_senders_rate()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 4, SenderMessagesPerSecond = 0.001, MaxBroadcastRecipients = 4 });
        await using ChatClient alice = await server.LoginAsync("alice");
        for (int i = 0; i < 4; i++)
        {
            await alice.PublishKeysAsync(Key("ik"), Key("spk"), Key("kem"), null, null).WithTimeout();
        }
        ChatException limited = await Assert.ThrowsAsync<ChatException>(() => alice.PublishKeysAsync(Key("ik"), null, null, null, null).WithTimeout());
        Assert.Equal(ErrorCodes.RateLimited, limited.Code);
    }

    [Fact]
    public async Task Fetching_an_unknown_or_malformed_user_is_a_clear_error()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient bob = await server.LoginAsync("bob");
        Assert.Equal(ErrorCodes.UnknownRecipient, (await Assert.ThrowsAsync<ChatException>(() => bob.FetchBundlesAsync("nobody").WithTimeout())).Code);
        Assert.Equal(ErrorCodes.InvalidUsername, (await Assert.ThrowsAsync<ChatException>(() => bob.FetchBundlesAsync("\u001b[2J").WithTimeout())).Code);
        // A user who never published keys has no bundles, not an error.
        await (await server.LoginAsync("quiet")).DisposeAsync();
        Assert.Empty((await bob.FetchBundlesAsync("quiet").WithTimeout()).Devices);
    }
}
