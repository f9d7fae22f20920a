using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Parley.Tests.Support;

/// <summary>
/// A real loopback listener that speaks something other than Parley (an SSH banner, an HTTP reply,
/// silence), to check that clients say so in words instead of quoting a protocol error.
/// </summary>
public sealed class ForeignListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    /// <param name="greeting">Sent as soon as a connection is accepted (null: nothing, like an HTTP server waiting for a request).</param>
    /// <param name="reply">Sent once the client has sent its first bytes (null: nothing).</param>
    public ForeignListener(string? greeting, string? reply = null)
    {
        _listener.Start();
        _serving = Task.Run(() => ServeAsync(greeting, reply));
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>An SSH server's first line, sent before the client says anything.</summary>
    public static ForeignListener Ssh() => new("SSH-2.0-OpenSSH_9.6p1 Debian-4\r\n");

    /// <summary>An HTTP server that answers whatever arrives with 400, as most do for binary input.</summary>
    public static ForeignListener Http() => new(null, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

    /// <summary>A port on which nothing listens (bound once, then released).</summary>
    public static int ClosedPort()
    {
        TcpListener probe = new(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task ServeAsync(string? greeting, string? reply)
    {
        List<Socket> open = [];
        try
        {
            while (true)
            {
                Socket socket = await _listener.AcceptSocketAsync(_stop.Token);
                open.Add(socket);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        if (greeting is not null)
                        {
                            await socket.SendAsync(Encoding.ASCII.GetBytes(greeting), SocketFlags.None, _stop.Token);
                        }
                        byte[] buffer = new byte[4096];
                        if (await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0 && reply is not null)
                        {
                            await socket.SendAsync(Encoding.ASCII.GetBytes(reply), SocketFlags.None, _stop.Token);
                            socket.Shutdown(SocketShutdown.Send);
                        }
                        // Hold the connection until the client leaves or the test ends.
                        while (await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0)
                        {
                        }
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
                    {
                    }
                });
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            foreach (Socket socket in open)
            {
                socket.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _serving;
    }
}
