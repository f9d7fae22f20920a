using System.Threading.Channels;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.EndToEnd;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Client;

/// <summary>The device's end-to-end state at rest: encrypted, owner-only, fail-closed, and enough to go on mid-conversation after restarts.</summary>
public class E2eDeviceFileTests
{
    [Fact]
    public async Task A_conversation_goes_on_after_both_clients_and_the_server_restart()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory home = new();
        E2eDeviceFile aliceFile = new(Path.Combine(home.Path, "alice.e2e"));
        E2eDeviceFile bobFile = new(Path.Combine(home.Path, "bob.e2e"));

        (ChatClient alice, Channel<E2eIncoming> aliceInbox, string aliceToken, E2eDevice aliceKeys) = await ConnectAsync(server, "alice", E2eDevice.Create("alice"), null);
        (ChatClient bob, Channel<E2eIncoming> bobInbox, string bobToken, E2eDevice bobKeys) = await ConnectAsync(server, "bob", E2eDevice.Create("bob"), null);
        await aliceKeys.SendTextAsync(alice, "bob", "before").WithTimeout();
        Assert.Equal("before", (await bobInbox.Reader.ReadAsync().AsTask().WithTimeout()).Text);
        await bobKeys.SendTextAsync(bob, "alice", "reply before").WithTimeout();
        Assert.Equal("reply before", (await aliceInbox.Reader.ReadAsync().AsTask().WithTimeout()).Text);

        // Both save and quit; one message is in flight while they are gone.
        await bob.DisposeAsync();
        bobFile.Save(bobKeys);
        bobKeys.Dispose();
        await aliceKeys.SendTextAsync(alice, "bob", "while bob is away").WithTimeout();
        await alice.DisposeAsync();
        aliceFile.Save(aliceKeys);
        aliceKeys.Dispose();
        await server.RestartAsync();

        (alice, aliceInbox, _, aliceKeys) = await ConnectAsync(server, "alice", aliceFile.Load("alice"), aliceToken);
        (bob, bobInbox, _, bobKeys) = await ConnectAsync(server, "bob", bobFile.Load("bob"), bobToken);
        await using (alice)
        await using (bob)
        {
            Assert.Equal("while bob is away", (await bobInbox.Reader.ReadAsync().AsTask().WithTimeout()).Text);
            await bobKeys.SendTextAsync(bob, "alice", "after").WithTimeout();
            Assert.Equal("after", (await aliceInbox.Reader.ReadAsync().AsTask().WithTimeout()).Text);
            await aliceKeys.SendTextAsync(alice, "bob", "and back").WithTimeout();
            Assert.Equal("and back", (await bobInbox.Reader.ReadAsync().AsTask().WithTimeout()).Text);
        }
        aliceKeys.Dispose();
        bobKeys.Dispose();
    }

    [Fact]
    public void The_state_file_is_owner_only_holds_no_key_in_the_clear_and_a_changed_byte_fails_closed()
    {
        using TempDirectory home = new();
        E2eDeviceFile file = new(Path.Combine(home.Path, "nested", "alice.e2e"));
        using E2eDevice alice = E2eDevice.Create("alice");
        file.Save(alice);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(Parley.Transport.Files.OwnerOnly.FileMode, File.GetUnixFileMode(file.StatePath));
            Assert.Equal(Parley.Transport.Files.OwnerOnly.FileMode, File.GetUnixFileMode(file.KeyPath));
        }
        byte[] state = alice.ExportState();
        byte[] onDisk = File.ReadAllBytes(file.StatePath);
        // Any 32-byte window of the plaintext state (which holds the private keys) would show a leak.
        for (int i = 0; i + 32 <= state.Length; i += 16)
        {
            Assert.True(onDisk.AsSpan().IndexOf(state.AsSpan(i, 32)) < 0, $"plaintext state bytes {i}..{i + 32} are in the file");
        }

        using (E2eDevice loaded = file.Load("alice"))
        {
            Assert.Equal(alice.Identity, loaded.Identity);
        }
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => file.Load("mallory")).Error);
        onDisk[^5] ^= 1;
        File.WriteAllBytes(file.StatePath, onDisk);
        Assert.Equal(E2eError.DecryptionFailed, Assert.Throws<E2eProtocolException>(() => file.Load("alice")).Error);
    }

    [Fact]
    public void A_truncated_or_garbage_state_is_refused_whole()
    {
        using E2eDevice alice = E2eDevice.Create("alice", oneTimePrekeys: 2, oneTimeKemPrekeys: 1);
        byte[] state = alice.ExportState();
        foreach (int cut in new[] { 0, 1, 10, state.Length / 2, state.Length - 1 })
        {
            Assert.Throws<E2eProtocolException>(() => E2eDevice.ImportState(state.AsSpan(0, cut)));
        }
        byte[] longer = [.. state, 0];
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => E2eDevice.ImportState(longer)).Error);
    }

    private static async Task<(ChatClient, Channel<E2eIncoming>, string, E2eDevice)> ConnectAsync(TestServer server, string user, E2eDevice keys, string? token)
    {
        Channel<E2eIncoming> inbox = Channel.CreateUnbounded<E2eIncoming>();
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        client.MessageHandler = m => inbox.Writer.WriteAsync(keys.Open(m));
        LoginResult login = await client.LoginAsync(user, token is null ? "correct horse" : null, token).WithTimeout();
        Assert.True(login.Success, login.Error);
        if (token is null)
        {
            await keys.PublishAsync(client).WithTimeout();
        }
        return (client, inbox, token ?? login.DeviceToken!, keys);
    }
}
