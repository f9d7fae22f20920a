using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Cli;

public partial class MessengerEndToEndTests
{
    /// <summary>
    /// A shutdown that has to wait for a client (here one that stopped reading, so the server's
    /// writes to it block) takes longer than System.CommandLine's default 2 s termination timeout,
    /// which used to kill the process before "[SERVER] Stopped". The server must finish its drain
    /// and exit 0 (issue 15, "Shutdown that works").
    /// </summary>
    [Fact]
    public async Task A_shutdown_that_waits_for_a_stalled_client_still_ends_with_Stopped()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (server)
        {
            ChatClient sloth = await ChatClient.ConnectAsync("127.0.0.1", port, new ClientChannelOptions(new TestServer.TrustAnyServer())).WithTimeout();
            ChatClient flood = await ChatClient.ConnectAsync("127.0.0.1", port, new ClientChannelOptions(new TestServer.TrustAnyServer())).WithTimeout();
            try
            {
                // The first message blocks the sloth's reader for good: its socket buffers fill up.
                sloth.MessageHandler = async _ => await release.Task;
                Assert.True((await sloth.LoginAsync("sloth", "sloth's long passphrase", null).WithTimeout()).Success);
                Assert.True((await flood.LoginAsync("flood", "flood's long passphrase", null).WithTimeout()).Success);
                byte[] body = new byte[MessengerLimits.DefaultMaxBodyLength];
                for (int i = 0; i < 160; i++)
                {
                    await flood.SendMessageAsync("sloth", "application/octet-stream", body).WithTimeout();
                }

                await SignalAsync(server, "TERM");
                await server.WaitForLineAsync("[SERVER] Shutting down...");
                await server.WaitForLineAsync("[SERVER] Stopped", TimeSpan.FromSeconds(60));
                Assert.Equal(0, await server.WaitForExitAsync());
            }
            finally
            {
                release.TrySetResult();
                await flood.DisposeAsync();
                await sloth.DisposeAsync();
            }
        }
    }
}
