using Parley.Protocol.Handshake;

namespace Parley.Transport.Trust;

/// <summary>Decides whether a server key that proved itself in the handshake is the one the user trusts.</summary>
public interface IServerTrust
{
    ValueTask<TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken);
}

public readonly record struct TrustDecision(bool Trusted, string Reason)
{
    public static TrustDecision Accept(string reason) => new(true, reason);
    public static TrustDecision Refuse(string reason) => new(false, reason);
}
