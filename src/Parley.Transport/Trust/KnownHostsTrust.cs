using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;

namespace Parley.Transport.Trust;

/// <summary>
/// Trust on first use against a known_hosts file. A known key must match; a changed key throws
/// <see cref="HostKeyMismatchException"/> whatever else is configured. A new key is accepted when
/// it equals <see cref="ExpectedFingerprint"/>, when <see cref="TrustNew"/> is set, or when
/// <see cref="Prompt"/> says yes; then it is recorded.
/// </summary>
public sealed class KnownHostsTrust(KnownHostsFile file, string hostPort) : IServerTrust
{
    public KnownHostsFile File { get; } = file;
    public string HostPort { get; } = hostPort;
    public bool TrustNew { get; init; }
    public string? ExpectedFingerprint { get; init; }

    /// <summary>Asked about a new key (the fingerprint is in the identity); true to trust and record it.</summary>
    public Func<PeerIdentity, CancellationToken, ValueTask<bool>>? Prompt { get; init; }

    /// <summary>Told once a new key has been written to the file (however it was accepted), to say so.</summary>
    public Action<PeerIdentity>? Added { get; init; }

    public async ValueTask<TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken)
    {
        string presented = identity.Fingerprint;
        if (ExpectedFingerprint is not null && !Fingerprint.Matches(ExpectedFingerprint, presented))
        {
            return TrustDecision.Refuse($"the server at {HostPort} presented {presented}, not the expected {ExpectedFingerprint}");
        }
        KnownHostLookup lookup = File.Lookup(HostPort, identity);
        switch (lookup.Status)
        {
            case KnownHostStatus.Match:
                return TrustDecision.Accept($"{presented} matches {File.Path} line {lookup.LineNumber}");
            case KnownHostStatus.Mismatch:
                throw new HostKeyMismatchException(HostPort, presented, lookup.StoredFingerprint!, File.Path, lookup.LineNumber);
        }
        bool accepted = ExpectedFingerprint is not null
            || TrustNew
            || (Prompt is not null && await Prompt(identity, cancellationToken).ConfigureAwait(false));
        if (!accepted)
        {
            return TrustDecision.Refuse($"the server key {presented} for {HostPort} is not known; compare it with the server's and pass --trust-new or --fingerprint {presented}");
        }
        File.Add(HostPort, identity);
        Added?.Invoke(identity);
        return TrustDecision.Accept($"{presented} added to {File.Path}");
    }
}
