using System.Security.Cryptography;
using Parley.Crypto.KeyAgreement;

namespace Parley.Protocol.Handshake;

/// <summary>
/// Where a handshake gets its randomness: hello randoms and ephemeral key shares. The default
/// uses the system CSPRNG. The seam exists so PROTOCOL.md's vectors can pin every random value
/// (Noise's FixedKeyDh habit) without reflection.
/// </summary>
public class HandshakeEntropy
{
    public static HandshakeEntropy System { get; } = new();

    public virtual void FillRandom(Span<byte> destination) => RandomNumberGenerator.Fill(destination);

    public virtual KeyAgreementPrivateKey NewKeyShare(KeyAgreementAlgorithm group) => group.GenerateKey();
}
