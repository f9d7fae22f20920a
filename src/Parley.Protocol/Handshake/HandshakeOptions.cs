using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;

namespace Parley.Protocol.Handshake;

/// <summary>What a client offers. Lists are in order of preference.</summary>
public sealed record ClientHandshakeOptions
{
    public IReadOnlyList<KeyAgreementAlgorithm> Groups { get; init; } = KeyAgreementAlgorithms.All;
    public IReadOnlyList<AeadAlgorithm> Suites { get; init; } = AeadAlgorithms.All;
    public IReadOnlyList<SignatureAlgorithm> SignatureAlgorithms { get; init; } = Parley.Crypto.Signing.SignatureAlgorithms.All;

    /// <summary>The group of the key share sent in the first hello; the first of <see cref="Groups"/> when null.</summary>
    public KeyAgreementAlgorithm? ShareGroup { get; init; }

    public RecordLimits Limits { get; init; } = RecordLimits.Default;

    /// <summary>
    /// When set, the client proves this long-term key after the ServerHello (ClientIdentity,
    /// PROTOCOL.md §5.7): peer-to-peer chat authenticates both sides. Not owned.
    /// </summary>
    public SigningKey? Identity { get; init; }

    internal KeyAgreementAlgorithm EffectiveShareGroup => ShareGroup ?? Groups[0];

    internal void Validate()
    {
        if (Groups.Count == 0 || Suites.Count == 0 || SignatureAlgorithms.Count == 0)
        {
            throw new ArgumentException("A client must offer at least one group, suite and signature algorithm.");
        }
        if (!Groups.Contains(EffectiveShareGroup))
        {
            throw new ArgumentException($"The key share group {EffectiveShareGroup.Name} is not among the offered groups.");
        }
        Limits.Validate();
    }
}

/// <summary>What a server accepts, in its order of preference, and who it is.</summary>
public sealed record ServerHandshakeOptions
{
    public ServerHandshakeOptions(SigningKey identity) => Identity = identity;

    /// <summary>The server's long-term key; not owned, not disposed by the handshake.</summary>
    public SigningKey Identity { get; init; }

    public IReadOnlyList<KeyAgreementAlgorithm> Groups { get; init; } = KeyAgreementAlgorithms.All;
    public IReadOnlyList<AeadAlgorithm> Suites { get; init; } = AeadAlgorithms.All;
    public RecordLimits Limits { get; init; } = RecordLimits.Default;

    /// <summary>The client must prove a long-term key (ClientIdentity) before its Finished.</summary>
    public bool RequireClientIdentity { get; init; }

    internal void Validate()
    {
        if (Groups.Count == 0 || Suites.Count == 0)
        {
            throw new ArgumentException("A server must accept at least one group and suite.");
        }
        Limits.Validate();
    }
}
