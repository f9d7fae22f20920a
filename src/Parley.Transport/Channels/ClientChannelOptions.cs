using Parley.Protocol.Handshake;
using Parley.Transport.Trust;

namespace Parley.Transport.Channels;

public sealed record ClientChannelOptions(IServerTrust ServerTrust)
{
    public ClientHandshakeOptions Handshake { get; init; } = new();
    public TimeSpan HandshakeTimeout { get; init; } = SecureChannel.DefaultHandshakeTimeout;
    public HandshakeEntropy? Entropy { get; init; }
}
