// The one place clients open a TCP connection (chat, devices, bench through ChatClient; peer
// through PeerNode), so every refused, unknown or silent address is reported the same way.
using System.Net;
using System.Net.Sockets;

namespace Parley.Transport.Diagnosis;

public static class TcpDialer
{
    /// <summary>Connects, with Nagle off; the caller owns the returned client.</summary>
    /// <exception cref="ConnectFailedException">Refused, unknown host, unreachable, or no answer within <paramref name="timeout"/>.</exception>
    public static async Task<TcpClient> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        // An address needs no name lookup (libc's resolver reads /etc/hosts and friends on every
        // call) and gets a socket of its own family rather than a dual-mode IPv6 one.
        IPAddress? address = IPAddress.TryParse(host, out IPAddress? literal) ? literal : null;
        TcpClient tcp = address is null ? new TcpClient() : new TcpClient(address.AddressFamily);
        tcp.NoDelay = true;
        using CancellationTokenSource deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await (address is null ? tcp.ConnectAsync(host, port, deadline.Token) : tcp.ConnectAsync(address, port, deadline.Token)).ConfigureAwait(false);
            return tcp;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            tcp.Dispose();
            throw new ConnectFailedException(host, port, ConnectFailure.TimedOut, $"no answer within {timeout.TotalSeconds:0.#} s", e);
        }
        catch (SocketException e)
        {
            tcp.Dispose();
            (ConnectFailure failure, string reason) = e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => (ConnectFailure.Refused, "connection refused"),
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => (ConnectFailure.UnknownHost, $"unknown host '{Protocol.Text.UntrustedText.Sanitize(host, 100)}'"),
                SocketError.TimedOut => (ConnectFailure.TimedOut, "no answer (timed out)"),
                SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown or SocketError.NetworkDown =>
                    (ConnectFailure.Unreachable, "the host cannot be reached from here"),
                _ => (ConnectFailure.Other, e.Message),
            };
            throw new ConnectFailedException(host, port, failure, reason, e);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }
}
