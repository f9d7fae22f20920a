using Parley.Tests.Support;

namespace Parley.Tests.Cli.Terminal;

/// <summary>On an interactive terminal a message printed counts as read (PROTOCOL.md §13.11); 'receipts off' sends only "received".</summary>
public partial class ChatTerminalTests
{
    [Fact]
    public async Task Receipts_a_message_printed_on_a_terminal_is_read_and_with_receipts_off_only_received()
    {
        Assert.True(TmuxTerminal.Available, "tmux is needed (.ci/run installs it)");
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess bob = await StartPlainChatAsync(temp, "bob", port);
            using TmuxTerminal alice = await StartTerminalChatAsync(temp, "alice", port);
            await bob.WriteLineAsync("send alice look at this");
            await alice.WaitForRowAsync("From bob: look at this");
            await bob.WaitForLineAsync("[STATUS] alice read your message");

            // Alice's message to the script: the script's device says "received".
            alice.Type("send bob seen it");
            alice.Keys("Enter");
            await bob.WaitForLineAsync("From alice: seen it");
            await alice.WaitForRowAsync("[STATUS] bob received your message");

            alice.Type("receipts off");
            alice.Keys("Enter");
            await alice.WaitForRowAsync("[STATUS] Read receipts off");
            await bob.WriteLineAsync("send alice and this?");
            await alice.WaitForRowAsync("From bob: and this?");
            await bob.WaitForLineAsync("[STATUS] alice received your message");
            alice.Type("quit");
            alice.Keys("Enter");
            await alice.WaitForRowAsync("[exit 0]");
        }
    }
}
