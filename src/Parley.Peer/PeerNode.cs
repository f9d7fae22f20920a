// A peer: listens, dials, or both at once, and ends up with exactly one session.
//
// Both directions can succeed when two peers dial each other at the same moment. Every
// connection runs the same steps: a mutually authenticated handshake, a hello naming each side,
// the trust check on (name, key), a "ready" each way once trusted, and then the choice. The side whose identity key is smaller
// (bytewise) decides: it selects the first connection that gets this far and marks any later one
// a duplicate. The other side waits for that word on each connection. One side decides, so both
// agree, whatever the timing.
//
// Once the session exists the node stops listening, and a connection still in flight from anyone
// but the session's peer is refused before its key can be pinned (known_peers poisoning).
//
// Whoever can reach a listening port may connect, so what they can make the node do is bounded:
// incoming connections being set up at once, in all and per address (PeerOptions), and one trust
// question at a time on the console (PeerTrust). A stranger presenting another key under a pinned name is
// warned about loudly and refused, and the node goes on listening: ending there handed anyone
// who knew the name a way to stop the user's listener (found by review). A dialled peer whose key
// changed still ends the attempt, as ssh does.
using System.Net;
using System.Net.Sockets;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Protocol.Text;
using Parley.Transport;
using Parley.Transport.Channels;
using Parley.Transport.Diagnosis;
using Parley.Transport.Trust;

namespace Parley.Peer;

public sealed class PeerNode : IAsyncDisposable
{
    private readonly PeerOptions _options;
    private readonly TaskCompletionSource<PeerSession> _session = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    // Cancelled when the session starts: from then on nothing may be pinned.
    private readonly CancellationTokenSource _pinning = new();
    private readonly object _decision = new();
    private TcpListener? _listener;
    private int _listenerStopped;
    private bool _selected;
    private Task _acceptLoop = Task.CompletedTask;

    public PeerNode(PeerOptions options) => _options = options;

    /// <summary>Human-readable progress and refusals ("[*] …" lines in the CLI).</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>
    /// An incoming connection presented another key for a name pinned in known peers: refused, and
    /// the node goes on listening. Without it the warning is a <see cref="Notice"/>.
    /// </summary>
    public Action<PeerKeyMismatchException>? KeyChanged { get; init; }

    public int? ListeningPort => (_listener?.LocalEndpoint as IPEndPoint)?.Port;

    public PeerIdentity Identity => new(_options.Identity.Algorithm, _options.Identity.PublicKey.ToArray());

    /// <summary>Binds the listening socket (if any), so the port is known before anyone dials.</summary>
    public void StartListening()
    {
        if (_options.ListenPort is not int port)
        {
            return;
        }
        _listener = new TcpListener(_options.ListenAddress, port);
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>
    /// Dials (if configured) and waits for the one session. Fails with the dial error when not
    /// listening; while listening, a failed dial is only a notice.
    /// </summary>
    public async Task<PeerSession> EstablishAsync(CancellationToken cancellationToken = default)
    {
        if (_listener is null && _options.ListenPort is not null)
        {
            StartListening();
        }
        if (_options.Connect is { } target)
        {
            Dial(target);
        }
        return await _session.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts one more outgoing connection attempt (the configured one is started by EstablishAsync).</summary>
    public void Dial(DnsEndPoint target) => _ = Task.Run(() => DialAsync(target), CancellationToken.None);

    private async Task DialAsync(DnsEndPoint target)
    {
        TcpClient tcp;
        try
        {
            tcp = await TcpDialer.ConnectAsync(target.Host, target.Port, TransportTimeouts.Connect, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ConnectFailedException or OperationCanceledException)
        {
            string reason = e is ConnectFailedException failed ? failed.Reason : e.Message;
            PeerConnectException error = new($"could not connect to {target.Host}:{target.Port}: {reason}", e);
            if (_listener is null)
            {
                _session.TrySetException(error);
            }
            else if (!_session.Task.IsCompleted)
            {
                Notice?.Invoke($"Could not connect to {target.Host}:{target.Port}: {reason}. Waiting for incoming connections.");
            }
            return;
        }
        await RunConnectionAsync(tcp.GetStream(), dialed: true, $"{target.Host}:{target.Port}").ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (SocketException e) when (Volatile.Read(ref _listenerStopped) == 0 && !_stop.IsCancellationRequested)
            {
                // One failed accept (a connection reset before it was taken, no file descriptors
                // left for a moment) does not stop the listening; said once, tried again shortly.
                if (Interlocked.Exchange(ref _acceptFailureSaid, 1) == 0)
                {
                    Notice?.Invoke($"Accepting a connection failed ({e.SocketErrorCode}); still listening");
                }
                await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
                continue;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                return;
            }
            string from = socket.RemoteEndPoint?.ToString() ?? "unknown";
            IPAddress address = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            if (TryAdmit(address) is not { } incoming)
            {
                socket.Dispose();
                if (Interlocked.Exchange(ref _refusedSaid, 1) == 0)
                {
                    Notice?.Invoke($"Refused a connection from {from}: too many connections being set up at once (said once)");
                }
                continue;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await RunConnectionAsync(new NetworkStream(socket, ownsSocket: true), dialed: false, from, incoming).ConfigureAwait(false);
                }
                finally
                {
                    Release(incoming);
                }
            });
        }
    }

    private int _refusedSaid;
    // Names pinned with another key that an incoming connection claimed (each said once).
    private readonly HashSet<string> _warnedNames = new(StringComparer.Ordinal);
    private int _acceptFailureSaid;

    /// <summary>An incoming connection being set up: cut when a newer one needs its place.</summary>
    private sealed class Incoming(IPAddress address, CancellationToken stopping) : IDisposable
    {
        public IPAddress Address { get; } = address;
        public CancellationTokenSource Cut { get; } = CancellationTokenSource.CreateLinkedTokenSource(stopping);

        /// <summary>Its trust question is on the console now: cutting it would leave the question unanswerable.</summary>
        public bool Asking { get; set; }

        public void Dispose() => Cut.Dispose();
    }

    // Oldest first. Past MaxIncomingAtOnce the oldest not being asked about is cut for a newer one,
    // so connections that say nothing (or wait for a question) cannot keep a known peer out; past
    // MaxIncomingAtOncePerAddress the newer one is refused.
    private readonly List<Incoming> _incoming = [];

    private Incoming? TryAdmit(IPAddress address)
    {
        lock (_incoming)
        {
            if (_incoming.Count(i => i.Address.Equals(address)) >= _options.MaxIncomingAtOncePerAddress)
            {
                return null;
            }
            if (_incoming.Count >= _options.MaxIncomingAtOnce)
            {
                if (_incoming.FirstOrDefault(i => !i.Asking) is not { } oldest)
                {
                    return null;
                }
                _incoming.Remove(oldest);
                oldest.Cut.Cancel();
            }
            Incoming admitted = new(address, _stop.Token);
            _incoming.Add(admitted);
            return admitted;
        }
    }

    private void Release(Incoming incoming)
    {
        lock (_incoming)
        {
            _incoming.Remove(incoming);
        }
        incoming.Dispose();
    }

    /// <summary>Incoming connections being set up now (tests check the bound).</summary>
    internal int IncomingInFlight
    {
        get
        {
            lock (_incoming)
            {
                return _incoming.Count;
            }
        }
    }

    private async Task RunConnectionAsync(NetworkStream stream, bool dialed, string where, Incoming? incoming = null)
    {
        // Until the session starts: stopping the node, or a newer incoming connection needing the place.
        CancellationToken setup = incoming?.Cut.Token ?? _stop.Token;
        SecureChannel? channel = null;
        bool kept = false;
        try
        {
            channel = dialed
                ? await SecureChannel.ConnectAsync(stream, new ClientChannelOptions(new CheckedAfterHello())
                {
                    Handshake = new ClientHandshakeOptions { Identity = _options.Identity },
                    HandshakeTimeout = _options.HandshakeTimeout,
                }, setup).ConfigureAwait(false)
                : await SecureChannel.AcceptAsync(stream, new ServerChannelOptions(new ServerHandshakeOptions(_options.Identity) { RequireClientIdentity = true })
                {
                    HandshakeTimeout = _options.HandshakeTimeout,
                }, setup).ConfigureAwait(false);
            PeerIdentity peer = channel.RemoteIdentity!;
            int order = _options.Identity.PublicKey.SequenceCompareTo(peer.PublicKey);
            if (order == 0)
            {
                throw new PeerRefusedException("that is your own identity: refusing to chat with yourself");
            }
            ThrowIfBusyWithAnother(peer);
            await channel.SendAsync(PeerCodec.Encode(new PeerHello(_options.Name)), setup).ConfigureAwait(false);
            PeerHello hello = await ReadAsync<PeerHello>(channel, setup).ConfigureAwait(false);
            if (!Messaging.Usernames.TryNormalize(hello.Name, out string name, out _))
            {
                throw new PeerRefusedException("the peer sent an invalid name");
            }
            ThrowIfBusyWithAnother(peer);
            TrustDecision trust;
            try
            {
                using CancellationTokenSource mayPin = CancellationTokenSource.CreateLinkedTokenSource(setup, _pinning.Token);
                trust = await _options.Trust.CheckAsync(name, peer, mayPin.Token, asking: () => MarkAsking(incoming)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_pinning.IsCancellationRequested && !setup.IsCancellationRequested)
            {
                // The session started while this connection was being checked: another peer is
                // refused, but the session's own peer (a simultaneous dial) holds the key just
                // trusted and goes on to hear "duplicate".
                ThrowIfBusyWithAnother(peer);
                trust = TrustDecision.Accept("the key of the session just started");
            }
            if (!trust.Trusted)
            {
                await TrySendAsync(channel, new PeerBye("you are not trusted: " + trust.Reason)).ConfigureAwait(false);
                throw new PeerRefusedException(trust.Reason);
            }
            // Both sides say they trust the other before either chooses, so no session starts one-sided.
            await channel.SendAsync(PeerCodec.Encode(new PeerReady()), setup).ConfigureAwait(false);
            await ReadAsync<PeerReady>(channel, setup).ConfigureAwait(false);
            kept = order < 0 ? await DecideAsync(channel, setup).ConfigureAwait(false) : await AwaitDecisionAsync(channel, setup).ConfigureAwait(false);
            if (kept)
            {
                StartSession(new PeerSession(channel, name, peer));
            }
        }
        catch (PeerBusyException e)
        {
            Notice?.Invoke($"Refused a connection {(dialed ? "to" : "from")} {where}: {e.Message}");
            if (channel is not null)
            {
                await TrySendAsync(channel, new PeerBye(e.Message)).ConfigureAwait(false);
            }
        }
        catch (PeerKeyMismatchException e)
        {
            if (channel is not null)
            {
                await TrySendAsync(channel, new PeerBye("your key does not match the one pinned for your name")).ConfigureAwait(false);
            }
            Fail(e, dialed);
        }
        catch (PeerRefusedException e)
        {
            Fail(e, dialed);
        }
        catch (ParleyProtocolException e)
        {
            Fail(new PeerProtocolException($"secure connection {(dialed ? "to" : "from")} {where} failed: {e.Message}", e), dialed);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or Messaging.MessengerProtocolException)
        {
            Fail(new PeerProtocolException($"connection {(dialed ? "to" : "from")} {where} failed: {e.Message}", e), dialed);
        }
        finally
        {
            if (!kept)
            {
                if (channel is not null)
                {
                    await channel.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private void MarkAsking(Incoming? incoming)
    {
        if (incoming is null)
        {
            return;
        }
        lock (_incoming)
        {
            incoming.Asking = true;
        }
    }

    /// <summary>The one session: no more listening, and no more pinning.</summary>
    private void StartSession(PeerSession session)
    {
        if (!_session.TrySetResult(session))
        {
            return;
        }
        _pinning.Cancel();
        StopListening();
    }

    private void StopListening()
    {
        if (Interlocked.Exchange(ref _listenerStopped, 1) == 0)
        {
            _listener?.Stop();
        }
    }

    /// <summary>During a session, only a duplicate connection from the session's own peer may go on (to hear "duplicate").</summary>
    private void ThrowIfBusyWithAnother(PeerIdentity peer)
    {
        if (_session.Task.IsCompletedSuccessfully && !_session.Task.Result.PeerIdentity.PublicKey.AsSpan().SequenceEqual(peer.PublicKey))
        {
            throw new PeerBusyException();
        }
    }

    /// <summary>The deciding side: the first connection to get here is the session.</summary>
    private async Task<bool> DecideAsync(SecureChannel channel, CancellationToken setup)
    {
        bool first;
        lock (_decision)
        {
            first = !_selected;
            _selected = true;
        }
        await channel.SendAsync(PeerCodec.Encode(first ? new PeerSelect() : new PeerDuplicate()), setup).ConfigureAwait(false);
        return first;
    }

    /// <summary>The other side: the decider says which connection it keeps.</summary>
    private async Task<bool> AwaitDecisionAsync(SecureChannel channel, CancellationToken setup)
    {
        PeerMessage word = await ReadAsync<PeerMessage>(channel, setup).ConfigureAwait(false);
        return word switch
        {
            PeerSelect => true,
            PeerDuplicate => false,
            PeerBye bye => throw RefusedBy(bye),
            _ => throw new PeerProtocolException($"expected the session choice, got {word.GetType().Name}"),
        };
    }

    private async Task<T> ReadAsync<T>(SecureChannel channel, CancellationToken setup) where T : PeerMessage
    {
        using CancellationTokenSource timeout = new(_options.HandshakeTimeout, _options.Time);
        using CancellationTokenSource deadline = CancellationTokenSource.CreateLinkedTokenSource(setup, timeout.Token);
        byte[] payload = await channel.ReceiveAsync(deadline.Token).ConfigureAwait(false)
            ?? throw new PeerProtocolException("the peer closed the connection before the session started");
        PeerMessage message = PeerCodec.Decode(payload);
        return message switch
        {
            T expected => expected,
            PeerBye bye => throw RefusedBy(bye),
            _ => throw new PeerProtocolException($"expected {typeof(T).Name}, got {message.GetType().Name}"),
        };
    }

    /// <summary>The reason is the peer's own text, and the peer may not be trusted yet.</summary>
    private static PeerRefusedException RefusedBy(PeerBye bye) =>
        new($"the peer refused the session: {(bye.Reason is null ? "no reason given" : UntrustedText.Sanitize(bye.Reason))}");

    private static async Task TrySendAsync(SecureChannel channel, PeerMessage message)
    {
        try
        {
            using CancellationTokenSource timeout = new(TransportTimeouts.FarewellSend);
            await channel.SendAsync(PeerCodec.Encode(message), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ChannelException or ParleyProtocolException or OperationCanceledException)
        {
            // Best effort on the way out; the timeout above is ours.
        }
    }

    /// <summary>A dial that fails ends the attempt when nothing else can succeed; a bad inbound connection is only a notice.</summary>
    private void Fail(Exception error, bool dialed)
    {
        if (_session.Task.IsCompleted)
        {
            return;
        }
        if (error is PeerKeyMismatchException changed && !dialed)
        {
            // Loudly once per name: a stranger repeating it must not fill the console.
            bool first;
            lock (_warnedNames)
            {
                first = _warnedNames.Add(changed.Name);
            }
            if (!first)
            {
                return;
            }
            if (KeyChanged is not null)
            {
                KeyChanged(changed);
            }
            else
            {
                Notice?.Invoke($"Rejected: {error.Message}");
            }
        }
        else if (error is PeerKeyMismatchException || (dialed && _listener is null))
        {
            _session.TrySetException(error);
        }
        else
        {
            Notice?.Invoke($"Rejected: {error.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        StopListening();
        await _acceptLoop.ConfigureAwait(false);
    }

    /// <summary>The handshake proves the key; whether it is trusted is decided after the hello names it.</summary>
    private sealed class CheckedAfterHello : IServerTrust
    {
        public ValueTask<TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TrustDecision.Accept("checked with its name after the hello"));
    }
}

public sealed class PeerConnectException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class PeerProtocolException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class PeerRefusedException(string message) : Exception(message);

/// <summary>A connection from someone else while a session runs (or starts): refused before anything is pinned.</summary>
internal sealed class PeerBusyException() : Exception("already in a session with another peer");
