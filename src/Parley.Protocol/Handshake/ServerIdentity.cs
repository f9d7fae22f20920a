using Parley.Crypto.Signing;

namespace Parley.Protocol.Handshake;

/// <summary>The long-term key a server proved it holds during the handshake.</summary>
public sealed record ServerIdentity(SignatureAlgorithm Algorithm, byte[] PublicKey)
{
    public string Fingerprint => Parley.Crypto.Signing.Fingerprint.Of(Algorithm, PublicKey);

    public string PublicKeyBase64 => Convert.ToBase64String(PublicKey);
}
