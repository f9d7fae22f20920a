using Parley.Protocol.Handshake;

namespace Parley.Transport.Channels;

/// <summary>The server side's counterpart of <see cref="ClientChannelOptions"/>.</summary>
public sealed record ServerChannelOptions(ServerHandshakeOptions Handshake)
{
    public TimeSpan HandshakeTimeout { get; init; } = SecureChannel.DefaultHandshakeTimeout;
}
