using System.Net;
using System.Net.Sockets;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Cli;

public partial class MessengerEndToEndTests
{
    /// <summary>
    /// The real server runs socket continuations on its socket event threads (decision 0024). Here
    /// another process holds the database's write lock, as a backup or an operator's sqlite3 can,
    /// while a client creates a group: the server's write waits in SQLite's busy handler. It must
    /// wait on a pool thread. Had it run on a socket event thread, every connection of that thread
    /// would stand still with it; new connections are handed to the event threads in turn, so
    /// twice as many handshakes as there are threads reach the one the waiting client is on.
    /// </summary>
    [Fact]
    public async Task A_write_waiting_for_another_process_does_not_hold_up_other_connections()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            ClientChannelOptions options = new(new TestServer.TrustAnyServer());
            await using ChatClient carol = await ChatClient.ConnectAsync("127.0.0.1", port, options).WithTimeout();
            Assert.True((await carol.LoginAsync("carol", "carol's long passphrase", null).WithTimeout()).Success);

            using DatabaseWriteLock outsider = DatabaseWriteLock.Take(Path.Combine(temp.Path, "data", "parley.db"));
            Task<GroupInfo> creating = carol.CreateGroupAsync("friends", []);

            for (int i = 0; i < 2 * Environment.ProcessorCount; i++)
            {
                using TcpClient tcp = new();
                await tcp.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
                await using SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), options).WithTimeout();
                Assert.False(creating.IsCompleted, $"the group was answered before handshake {i + 1} finished: the write did not wait for the lock");
            }

            outsider.Release();
            GroupInfo group = await creating.WithTimeout();
            Assert.Equal("friends", group.Group);
        }
    }
}
