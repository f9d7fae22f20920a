using System.Net;
using System.Net.Sockets;
using Parley.Server.Hosting;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

public sealed class AcceptedSocketTests
{
    [Fact]
    public async Task Accepted_sockets_have_nagle_off_when_the_listener_has_it_off()
    {
        using Socket listener = Listen(noDelay: true);
        bool? inherited = null;
        for (int i = 0; i < 3; i++)
        {
            (Socket client, Socket accepted) = await ConnectAsync(listener);
            using (client)
            using (accepted)
            {
                Assert.True(TcpAcceptor.TryEnsureNoDelay(accepted, ref inherited));
                Assert.True(accepted.NoDelay);
                Assert.NotNull(inherited);
            }
        }
    }

    [Fact]
    public async Task A_socket_that_did_not_inherit_nagle_off_gets_it_set()
    {
        using Socket listener = Listen(noDelay: false);
        (Socket client, Socket accepted) = await ConnectAsync(listener);
        using (client)
        using (accepted)
        {
            bool? inherited = null;
            Assert.True(TcpAcceptor.TryEnsureNoDelay(accepted, ref inherited));
            Assert.False(inherited);
            Assert.True(accepted.NoDelay);
        }
    }

    [Fact]
    public void A_socket_the_option_cannot_be_set_on_is_reported_not_thrown()
    {
        // A datagram socket has no TCP options: the call fails as it can on a reset TCP socket elsewhere.
        using Socket udp = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        bool? inherited = null;
        Assert.False(TcpAcceptor.TryEnsureNoDelay(udp, ref inherited));
        Assert.Null(inherited);
    }

    private static Socket Listen(bool noDelay)
    {
        Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = noDelay };
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        return listener;
    }

    private static async Task<(Socket Client, Socket Accepted)> ConnectAsync(Socket listener)
    {
        using CancellationTokenSource timeout = new(TestTimeouts.Event);
        Socket client = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, timeout.Token);
        return (client, await listener.AcceptAsync(timeout.Token));
    }
}
