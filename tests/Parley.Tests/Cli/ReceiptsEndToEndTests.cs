using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>Receipts (PROTOCOL.md §13.11) between two real `parley chat` processes in script mode.</summary>
public partial class MessengerEndToEndTests
{
    [Fact]
    public async Task Receipts_a_script_receipts_delivered_then_read_on_request_and_the_sender_is_told()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");

            await alice.WriteLineAsync("send bob did you read this?");
            await alice.WaitForLineAsync("[STATUS] Message delivered to bob");
            await bob.WaitForLineAsync("[NEW MESSAGE] From alice: did you read this?");
            // A script only stores what it prints: "delivered", until it says it read them.
            await alice.WaitForLineAsync("[STATUS] bob received your message");
            await bob.WriteLineAsync("read alice");
            await bob.WaitForLineAsync("[STATUS] Marked 1 message from alice as read");
            await alice.WaitForLineAsync("[STATUS] bob read your message");

            // Alice's client answered neither receipt: bob's next line is alice's next message.
            await alice.WriteLineAsync("send bob and this one");
            await bob.WaitForLineAsync("[NEW MESSAGE] From alice: and this one");
            await alice.WaitForLineAsync("[STATUS] bob received your message");
            foreach (ParleyProcess chat in new[] { alice, bob })
            {
                await chat.WriteLineAsync("quit");
                Assert.Equal(0, await chat.WaitForExitAsync());
            }
            Assert.DoesNotContain("your message", bob.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("[ERROR]", alice.Stdout + bob.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Receipts_off_is_saved_for_the_account_sends_only_delivered_and_json_prints_receipt_objects()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using (ParleyProcess first = StartChat(temp, "bob", port))
            {
                await first.WaitForLineAsync("[CLIENT] Authenticated as bob");
                await first.WriteLineAsync("receipts off");
                await first.WaitForLineAsync("[STATUS] Read receipts off");
                await first.WriteLineAsync("quit");
                Assert.Equal(0, await first.WaitForExitAsync());
            }
            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await bob.WriteLineAsync("receipts");
            await bob.WaitForLineAsync("[STATUS] Read receipts are off");
            await using ParleyProcess alice = StartChat(temp, "alice", port, "--json");
            await alice.WaitForLineAsync("Authenticated as alice");

            await alice.WriteLineAsync("send bob quiet please");
            await bob.WaitForLineAsync("[NEW MESSAGE] From alice: quiet please");
            string delivered = await alice.WaitForLineAsync("\"type\":\"receipt\"");
            Assert.Contains("\"from\":\"bob\"", delivered, StringComparison.Ordinal);
            Assert.Contains("\"receipt\":\"delivered\"", delivered, StringComparison.Ordinal);
            await bob.WriteLineAsync("read alice");
            await bob.WaitForLineAsync("[STATUS] Read receipts are off");

            foreach (ParleyProcess chat in new[] { alice, bob })
            {
                await chat.WriteLineAsync("quit");
                Assert.Equal(0, await chat.WaitForExitAsync());
            }
            Assert.DoesNotContain("\"receipt\":\"read\"", alice.Stdout, StringComparison.Ordinal);
        }
    }
}
