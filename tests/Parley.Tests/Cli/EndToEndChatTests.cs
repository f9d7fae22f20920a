using System.Text.RegularExpressions;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>parley chat end to end through the real executable: the server's files hold only ciphertext, and safety numbers agree.</summary>
public partial class MessengerEndToEndTests
{
    [Fact]
    public async Task A_message_to_an_offline_user_is_ciphertext_on_the_server_and_both_sides_verify_the_same_safety_number()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            // Bob registers (and publishes his keys), then leaves.
            await using (ParleyProcess bob = StartChat(temp, "bob", port))
            {
                await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
                await bob.WriteLineAsync("quit");
                Assert.Equal(0, await bob.WaitForExitAsync());
            }
            const string Marker = "MARKER-cli-5d1e-only-bob-may-read-this";
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            await alice.WriteLineAsync($"send bob {Marker}");
            await alice.WaitForLineAsync("[STATUS] bob is offline; message queued for delivery");
            string database = Path.Combine(temp.Path, "data", "parley.db");
            foreach (string file in StoredMessages.MessageFiles(database))
            {
                Assert.False(FileContains(file, Marker), $"{Path.GetFileName(file)} holds the plaintext");
            }

            await using ParleyProcess bobAgain = StartChat(temp, "bob", port);
            await bobAgain.WaitForLineAsync($"[NEW MESSAGE] From alice: {Marker}");
            await bobAgain.WriteLineAsync("send alice got it");
            await alice.WaitForLineAsync("[NEW MESSAGE] From bob: got it");

            await alice.WriteLineAsync("verify bob");
            string onAlice = Digits(await alice.WaitForLineAsync("[VERIFY] bob device"));
            await bobAgain.WriteLineAsync("verify alice");
            string onBob = Digits(await bobAgain.WaitForLineAsync("[VERIFY] alice device"));
            Assert.Equal(60, onAlice.Length);
            Assert.Equal(onAlice, onBob);

            await alice.WriteLineAsync("quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            await bobAgain.WriteLineAsync("quit");
            Assert.Equal(0, await bobAgain.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task A_broadcast_is_end_to_end_and_reaches_everyone_online_marked_as_a_broadcast()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await using ParleyProcess carol = StartChat(temp, "carol", port);
            await carol.WaitForLineAsync("[CLIENT] Authenticated as carol");
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            const string Marker = "MARKER-broadcast-9b2c-for-everyone-but-the-server";
            await alice.WriteLineAsync($"broadcast {Marker}");
            await alice.WaitForLineAsync("[STATUS] Broadcast sent to 2 users");
            await bob.WaitForLineAsync($"[BROADCAST] From alice: {Marker}");
            await carol.WaitForLineAsync($"[BROADCAST] From alice: {Marker}");
            string database = Path.Combine(temp.Path, "data", "parley.db");
            foreach (string file in StoredMessages.MessageFiles(database))
            {
                Assert.False(FileContains(file, Marker), $"{Path.GetFileName(file)} holds the plaintext");
            }
            foreach (ParleyProcess chat in new[] { alice, bob, carol })
            {
                await chat.WriteLineAsync("quit");
                Assert.Equal(0, await chat.WaitForExitAsync());
            }
        }
    }

    [Fact]
    public async Task A_contacts_new_device_is_announced_and_gets_the_next_message()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess phone = StartChat(temp, "bob", port);
            await phone.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            await alice.WriteLineAsync("send bob one");
            await phone.WaitForLineAsync("[NEW MESSAGE] From alice: one");

            // Bob logs in from a second machine (its own Parley home): a new device with its own keys.
            await using ParleyProcess laptop = StartChatIn(temp, "home-bob-laptop", "bob", port);
            await laptop.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await alice.WriteLineAsync("send bob two");
            string notice = await alice.WaitForLineAsync("[STATUS] bob has a new device");
            Assert.Contains("verify bob", notice);
            await laptop.WaitForLineAsync("[NEW MESSAGE] From alice: two");
            await phone.WaitForLineAsync("[NEW MESSAGE] From alice: two");
            // The phone sees what the laptop sends (the sender's own other devices get a copy).
            await laptop.WriteLineAsync("send alice from the laptop");
            await alice.WaitForLineAsync("[NEW MESSAGE] From bob: from the laptop");
            await phone.WaitForLineAsync("[STATUS] bob has a new device");

            foreach (ParleyProcess chat in new[] { alice, phone, laptop })
            {
                await chat.WriteLineAsync("quit");
                Assert.Equal(0, await chat.WaitForExitAsync());
            }
        }
    }

    [Fact]
    public async Task A_contact_coming_and_going_is_announced_in_the_chat()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            await using (ParleyProcess bob = StartChat(temp, "bob", port))
            {
                await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
                await alice.WriteLineAsync("send bob hello");
                await bob.WaitForLineAsync("[NEW MESSAGE] From alice: hello");
                // Bob is alice's contact now (she wrote to him): his leaving is announced.
                await bob.WriteLineAsync("quit");
                Assert.Equal(0, await bob.WaitForExitAsync());
            }
            await alice.WaitForLineAsync("[STATUS] bob went offline");
            await using ParleyProcess bobAgain = StartChat(temp, "bob", port);
            await alice.WaitForLineAsync("[STATUS] bob is online");
            // Bob's own chat knows alice from its saved end-to-end state, and says she is there.
            await bobAgain.WaitForLineAsync("[STATUS] Contacts online: alice");
            foreach (ParleyProcess chat in new[] { alice, bobAgain })
            {
                await chat.WriteLineAsync("quit");
                Assert.Equal(0, await chat.WaitForExitAsync());
            }
        }
    }

    /// <summary>The 60 digits after the device id (grouped in fives on screen).</summary>
    private static string Digits(string verifyLine) => Regex.Replace(verifyLine[(verifyLine.LastIndexOf(':') + 1)..], "[^0-9]", "");

    private static bool FileContains(string path, string text)
    {
        if (!File.Exists(path))
        {
            return false;
        }
        using FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using MemoryStream copy = new();
        stream.CopyTo(copy);
        return copy.ToArray().AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;
    }
}
