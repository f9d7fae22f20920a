// The TCP transport: binds, accepts, admits or refuses in the accept loop itself (a refusal costs
// one non-blocking send, no task and no key agreement), and hands each admitted socket to the
// ConnectionHandler as a plain Stream.
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Transport.Channels;

namespace Parley.Server.Hosting;

internal sealed class TcpAcceptor
{
    private static readonly TimeSpan s_acceptFailurePause = TimeSpan.FromMilliseconds(50);

    private readonly TcpListener _listener;
    private readonly ConnectionHandler _handler;
    private readonly LogRateLimiter _log;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private bool? _noDelayInherited;

    private TcpAcceptor(TcpListener listener, ConnectionHandler handler, LogRateLimiter log, ILogger logger)
    {
        _listener = listener;
        _handler = handler;
        _log = log;
        _logger = logger;
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Binds now, so a busy port fails before the caller writes anything; accepting starts with <see cref="Start"/>.</summary>
    public static async Task<TcpListener> BindAsync(string host, int port, CancellationToken cancellationToken)
    {
        IPAddress address = await ResolveAsync(host, cancellationToken).ConfigureAwait(false);
        TcpListener listener = new(address, port);
        listener.Server.NoDelay = true;
        listener.Start(backlog: 4096);
        return listener;
    }

    public static TcpAcceptor Start(TcpListener listener, ConnectionHandler handler, LogRateLimiter log, ILogger logger)
    {
        TcpAcceptor acceptor = new(listener, handler, log, logger);
        acceptor._loop = Task.Run(acceptor.AcceptLoopAsync);
        return acceptor;
    }

    /// <summary>
    /// Cancels before closing the listener, so the accept loop sees a cancellation, not a closed
    /// socket to retry forever.
    /// </summary>
    public async Task StopAsync()
    {
        _stopping.Cancel();
        await _loop.ConfigureAwait(false);
        _listener.Stop();
    }

    internal static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out IPAddress? literal))
        {
            return literal;
        }
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }
        IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                // The listener is gone: retrying would only spin. StopAsync cancels first, so
                // reaching this means something else closed it.
                _logger.LogError("The listener closed unexpectedly; no longer accepting connections: {Message}", e.Message);
                return;
            }
            catch (SocketException e)
            {
                // A connection reset before it was accepted, or descriptors exhausted: go on, but
                // without spinning or flooding the log while the condition lasts.
                _log.Write(LogKind.AcceptFailed, l => l.LogWarning("Accept failed: {Message}", e.Message));
                await PauseAfterAcceptFailureAsync(e, stopping).ConfigureAwait(false);
                continue;
            }
            if (!TryEnsureNoDelay(socket, ref _noDelayInherited))
            {
                // The option call failed (a socket reset before it was served, on some systems):
                // this connection is dropped before admission counts it, and the loop goes on.
                socket.Dispose();
                continue;
            }
            RemoteParty remote = RemoteParty.Of((socket.RemoteEndPoint as IPEndPoint)?.Address);
            if (!_handler.TryAdmit(remote.Source, out string refusal))
            {
                using (socket)
                {
                    PlaintextAlert.TrySendAndShutdown(socket, ProtocolError.ConnectionLimit, refusal);
                }
                continue;
            }
            _ = _handler.Serve(new NetworkStream(socket, ownsSocket: true), remote);
        }
    }

    /// <summary>
    /// Turns Nagle off on an accepted socket. Linux hands it the listener's TCP_NODELAY, so the
    /// first socket is asked and, where it came on already, later ones are not set again: one
    /// system call less per connection (a login storm makes thousands a second). False when the
    /// option call failed: the caller drops that socket rather than let the accept loop end.
    /// </summary>
    internal static bool TryEnsureNoDelay(Socket socket, ref bool? inherited)
    {
        try
        {
            inherited ??= socket.NoDelay;
            if (inherited == false)
            {
                socket.NoDelay = true;
            }
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task PauseAfterAcceptFailureAsync(SocketException e, CancellationToken stopping)
    {
        if (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return;
        }
        try
        {
            await Task.Delay(s_acceptFailurePause, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
