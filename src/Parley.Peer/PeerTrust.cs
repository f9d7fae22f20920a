using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;
using Parley.Transport.Trust;

namespace Parley.Peer;

/// <summary>Decides whether a named peer's proven key is trusted: known and matching, or accepted now and pinned.</summary>
public sealed class PeerTrust(KnownPeersFile file)
{
    public KnownPeersFile File { get; } = file;
    public bool TrustNew { get; init; }
    public string? ExpectedFingerprint { get; init; }
    public Func<string, PeerIdentity, CancellationToken, ValueTask<bool>>? Prompt { get; init; }

    /// <summary>Told once a new (name, key) has been pinned (however it was accepted), to say so.</summary>
    public Action<string, PeerIdentity>? Added { get; init; }

    // One question at a time: connections arriving together asked at once on one console, and an
    // answer typed for one could be read by another (found by review). Known peers never wait here.
    private readonly SemaphoreSlim _oneQuestionAtATime = new(1, 1);

    private async ValueTask<bool> AskAsync(string name, PeerIdentity identity, Action? asking, CancellationToken cancellationToken)
    {
        await _oneQuestionAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            asking?.Invoke();
            return await Prompt!(name, identity, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _oneQuestionAtATime.Release();
        }
    }

    /// <exception cref="PeerKeyMismatchException">The name is known with another key.</exception>
    /// <param name="asking">Told when the question about this peer is put to the user (after any other question before it).</param>
    public async ValueTask<TrustDecision> CheckAsync(string name, PeerIdentity identity, CancellationToken cancellationToken, Action? asking = null)
    {
        if (ExpectedFingerprint is not null && !Fingerprint.Matches(ExpectedFingerprint, identity.Fingerprint))
        {
            return TrustDecision.Refuse($"{name} presented {identity.Fingerprint}, not the expected {ExpectedFingerprint}");
        }
        KnownHostLookup lookup = File.Lookup(name, identity);
        switch (lookup.Status)
        {
            case KnownHostStatus.Match:
                return TrustDecision.Accept("known");
            case KnownHostStatus.Mismatch:
                throw new PeerKeyMismatchException(name, identity.Fingerprint, lookup.StoredFingerprint!, File.Path, lookup.LineNumber);
        }
        bool accepted = ExpectedFingerprint is not null || TrustNew
            || (Prompt is not null && await AskAsync(name, identity, asking, cancellationToken).ConfigureAwait(false));
        if (!accepted)
        {
            return TrustDecision.Refuse($"{name}'s key {identity.Fingerprint} is not known; compare it with {name} and pass --trust-new or --fingerprint {identity.Fingerprint}");
        }
        // The node cancels this once a session exists: a late "yes" must not pin anyone.
        cancellationToken.ThrowIfCancellationRequested();
        File.Add(name, identity);
        Added?.Invoke(name, identity);
        return TrustDecision.Accept("pinned");
    }
}
