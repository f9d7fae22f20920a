using Parley.Protocol.Handshake;
using Parley.Transport.Trust;

namespace Parley.Transport.Channels;

public sealed record ClientChannelOptions(IServerTrust ServerTrust)
{
    public ClientHandshakeOptions Handshake { get; init; } = new();
    public TimeSpan HandshakeTimeout { get; init; } = SecureChannel.DefaultHandshakeTimeout;
    public HandshakeEntropy? Entropy { get; init; }

    /// <summary>
    /// When set, the client accepts session tickets (PROTOCOL.md §5.8), saves the one each session
    /// brings here, and resumes with the saved one on the next connect (§5.9). Null: full handshakes only.
    /// </summary>
    public ISessionTicketStore? Tickets { get; init; }
}
