using Parley.Crypto.Signing;

namespace Parley.Protocol.Handshake;

/// <summary>A long-term key the other side proved it holds during the handshake (a server's, or a peer's).</summary>
public sealed record PeerIdentity(SignatureAlgorithm Algorithm, byte[] PublicKey)
{
    public string Fingerprint => Parley.Crypto.Signing.Fingerprint.Of(Algorithm, PublicKey);

    public string PublicKeyBase64 => Convert.ToBase64String(PublicKey);

    public bool SameKeyAs(PeerIdentity other) =>
        Algorithm.Name == other.Algorithm.Name && PublicKey.AsSpan().SequenceEqual(other.PublicKey);
}
