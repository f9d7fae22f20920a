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

    /// <summary>
    /// The client accepts a NewSessionTicket record after the handshake (PROTOCOL.md §5.8) and says
    /// so with <see cref="SessionTickets.SignalSuite"/> in its suites list. Off by default: the §10
    /// vectors are of a client that does not.
    /// </summary>
    public bool AcceptSessionTickets { get; init; }

    /// <summary>
    /// A ticket to resume with (§5.9): the hello becomes a ResumingClientHello sharing the ticket's
    /// group. Not owned; the caller drops it after this one use. Ignored when expired at
    /// <see cref="Clock"/>'s now or when its group or suite is not offered.
    /// </summary>
    public ResumptionTicket? Resumption { get; init; }

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The ticket to offer, when it is usable with this offer.</summary>
    internal ResumptionTicket? UsableResumption =>
        Resumption is { } ticket && !ticket.ExpiredAt(Clock.GetUtcNow())
            && Groups.Any(g => g.Name == ticket.Group) && Suites.Any(s => s.Name == ticket.Suite)
            && SignatureAlgorithms.Any(s => s.Name == ticket.Server.Algorithm.Name)
            ? ticket
            : null;

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

    /// <summary>
    /// The key tickets are sealed under (PROTOCOL.md §5.8), derived from <see cref="Identity"/>'s
    /// private key; null: no tickets are issued and every ResumingClientHello gets a full
    /// handshake. Not owned.
    /// </summary>
    public SessionTicketKey? TicketKey { get; init; }

    /// <summary>The clock tickets are stamped and checked with.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        if (Groups.Count == 0 || Suites.Count == 0)
        {
            throw new ArgumentException("A server must accept at least one group and suite.");
        }
        Limits.Validate();
    }
}
