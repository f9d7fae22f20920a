using Parley.Messaging;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Transport.Channels;

namespace Parley.Peer;

/// <summary>What happened on a peer session.</summary>
public abstract record PeerEvent;

public sealed record PeerTextReceived(string Text) : PeerEvent;

/// <summary>The peer said goodbye (exit), with a reason when it refused us.</summary>
public sealed record PeerLeft(string? Reason) : PeerEvent;

/// <summary>The connection failed: the peer vanished, or sent something invalid.</summary>
public sealed record PeerLost(Exception Error) : PeerEvent;

/// <summary>The one chat session between two peers, over one authenticated channel.</summary>
public sealed class PeerSession : IAsyncDisposable
{
    private readonly SecureChannel _channel;
    private int _closed;

    internal PeerSession(SecureChannel channel, string peerName, PeerIdentity peerIdentity)
    {
        _channel = channel;
        PeerName = peerName;
        PeerIdentity = peerIdentity;
    }

    public string PeerName { get; }
    public PeerIdentity PeerIdentity { get; }
    public string Group => _channel.Group;
    public string Suite => _channel.Suite;

    /// <summary>Whether this side dialed (Client) or accepted (Server) the connection that became the session.</summary>
    public SessionRole Role => _channel.Role;

    public ValueTask SendTextAsync(string text, CancellationToken cancellationToken = default) =>
        _channel.SendAsync(PeerCodec.Encode(new PeerText(text)), cancellationToken);

    /// <summary>The next event; after PeerLeft or PeerLost there are no more.</summary>
    public async Task<PeerEvent> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            byte[]? payload;
            try
            {
                payload = await _channel.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ChannelException or ParleyProtocolException)
            {
                return new PeerLost(e);
            }
            if (payload is null)
            {
                return new PeerLeft(null);
            }
            PeerMessage message;
            try
            {
                message = PeerCodec.Decode(payload);
            }
            catch (MessengerProtocolException e)
            {
                return new PeerLost(e);
            }
            switch (message)
            {
                case PeerText text:
                    return new PeerTextReceived(text.Text);
                case PeerBye bye:
                    return new PeerLeft(bye.Reason);
            }
        }
    }

    /// <summary>Says goodbye: the peer sees PeerLeft.</summary>
    public async Task LeaveAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }
        try
        {
            await _channel.SendAsync(PeerCodec.Encode(new PeerBye(null)), cancellationToken).ConfigureAwait(false);
            await _channel.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ChannelException or ParleyProtocolException)
        {
            // The peer is already gone.
        }
    }

    public ValueTask DisposeAsync() => _channel.DisposeAsync();
}
