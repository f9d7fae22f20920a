using System.Net;
using System.Net.Sockets;
using Parley.Tests.Support;
using Parley.Transport.Diagnosis;

namespace Parley.Tests.Transport;

/// <summary>The one place clients open TCP connections: addresses are dialled as given, names looked up.</summary>
public class TcpDialerTests
{
    [Fact]
    public async Task An_IPv4_address_is_dialled_on_an_IPv4_socket_with_Nagle_off()
    {
        using Loopback loopback = new();

        using TcpClient tcp = await TcpDialer.ConnectAsync("127.0.0.1", loopback.Port, TestTimeouts.Event).WithTimeout();

        Assert.Equal(AddressFamily.InterNetwork, tcp.Client.AddressFamily);
        Assert.True(tcp.NoDelay);
        Assert.Equal(IPAddress.Loopback, ((IPEndPoint)tcp.Client.RemoteEndPoint!).Address);
    }

    [Fact]
    public async Task A_name_is_looked_up_and_reaches_the_same_listener()
    {
        using Loopback loopback = new();

        using TcpClient tcp = await TcpDialer.ConnectAsync("localhost", loopback.Port, TestTimeouts.Event).WithTimeout();

        Assert.True(tcp.Connected);
        Assert.True(tcp.NoDelay);
    }

    [Fact]
    public async Task A_refused_address_is_reported_as_refused()
    {
        int port;
        using (Loopback closed = new())
        {
            port = closed.Port;
        }

        ConnectFailedException e = await Assert.ThrowsAsync<ConnectFailedException>(() => TcpDialer.ConnectAsync("127.0.0.1", port, TestTimeouts.Event));

        Assert.Equal(ConnectFailure.Refused, e.Failure);
    }
}
