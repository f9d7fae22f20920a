using System.Net;
using System.Net.Sockets;
using Parley.Server.Hosting;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

public sealed class AcceptedSocketTests
{
    [Fact]
    public async Task Every_accepted_socket_has_nagle_off_whether_or_not_it_came_from_the_listener()
    {
        using CancellationTokenSource timeout = new(TestTimeouts.Event);
        using Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        bool? inherited = null;
        for (int i = 0; i < 3; i++)
        {
            using Socket client = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(listener.LocalEndPoint!, timeout.Token);
            using Socket accepted = await listener.AcceptAsync(timeout.Token);
            TcpAcceptor.EnsureNoDelay(accepted, ref inherited);
            Assert.True(accepted.NoDelay);
            Assert.NotNull(inherited);
        }
    }

    [Fact]
    public async Task A_socket_that_did_not_inherit_nagle_off_gets_it_set()
    {
        using CancellationTokenSource timeout = new(TestTimeouts.Event);
        using Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = false };
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using Socket client = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, timeout.Token);
        using Socket accepted = await listener.AcceptAsync(timeout.Token);
        bool? inherited = null;
        TcpAcceptor.EnsureNoDelay(accepted, ref inherited);
        Assert.False(inherited);
        Assert.True(accepted.NoDelay);
    }
}
