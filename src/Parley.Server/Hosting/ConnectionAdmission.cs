// Who may start a handshake. Every check here runs in the accept loop before any key agreement,
// so a refusal costs an outsider's connection almost nothing on our side:
//   - a token bucket per source (AddressBlock) for new connections, each of which is one handshake;
//   - the per-source limit on open connections;
//   - a global cap on connections that have not logged in yet, and a per-source share of it, so
//     one source cannot take every pre-login slot and lock everyone else out.
using System.Diagnostics;

namespace Parley.Server.Hosting;

public enum AdmissionDecision
{
    Admitted,
    HandshakeRateExceeded,
    TooManyFromSource,
    TooManyUnauthenticatedFromSource,
    TooManyUnauthenticated,
}

public sealed class ConnectionAdmission
{
    /// <summary>Sources remembered before idle ones (a full bucket, no connection) are dropped; doubles as needed.</summary>
    private const int InitialPruneThreshold = 4096;

    private readonly ServerOptions _options;
    private readonly Dictionary<string, Source> _sources = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _unauthenticated;
    private int _pruneThreshold = InitialPruneThreshold;

    public ConnectionAdmission(ServerOptions options) => _options = options;

    /// <summary>Connections accepted that have not logged in (or ended) yet.</summary>
    public int Unauthenticated
    {
        get
        {
            lock (_lock)
            {
                return _unauthenticated;
            }
        }
    }

    /// <summary>Counts a new connection from <paramref name="source"/> if every limit allows it; on refusal nothing is counted.</summary>
    public AdmissionDecision TryAdmit(string source)
    {
        lock (_lock)
        {
            DateTimeOffset now = _options.Time.GetUtcNow();
            if (!_sources.TryGetValue(source, out Source? state))
            {
                PruneIfLarge(now);
                state = new Source(_options.HandshakeBurstPerSource, now);
                _sources.Add(source, state);
            }
            state.Refill(now, _options.HandshakesPerSecondPerSource, _options.HandshakeBurstPerSource);
            if (state.Tokens < 1)
            {
                return AdmissionDecision.HandshakeRateExceeded;
            }
            state.Tokens--;
            if (state.Connections >= _options.MaxConnectionsPerAddress)
            {
                return AdmissionDecision.TooManyFromSource;
            }
            if (state.Unauthenticated >= _options.MaxUnauthenticatedPerSource)
            {
                return AdmissionDecision.TooManyUnauthenticatedFromSource;
            }
            if (_unauthenticated >= _options.MaxUnauthenticatedConnections)
            {
                return AdmissionDecision.TooManyUnauthenticated;
            }
            state.Connections++;
            state.Unauthenticated++;
            _unauthenticated++;
            return AdmissionDecision.Admitted;
        }
    }

    /// <summary>The connection logged in: it no longer counts against the pre-login limits.</summary>
    public void Authenticated(string source)
    {
        lock (_lock)
        {
            Source state = _sources[source];
            Debug.Assert(state.Unauthenticated > 0);
            state.Unauthenticated--;
            _unauthenticated--;
        }
    }

    /// <summary>The connection ended.</summary>
    public void Release(string source, bool authenticated)
    {
        lock (_lock)
        {
            Source state = _sources[source];
            state.Connections--;
            if (!authenticated)
            {
                state.Unauthenticated--;
                _unauthenticated--;
            }
        }
    }

    /// <summary>Keeps the table bounded: a source with no connection and a full bucket is the same as one never seen.</summary>
    private void PruneIfLarge(DateTimeOffset now)
    {
        if (_sources.Count < _pruneThreshold)
        {
            return;
        }
        foreach ((string key, Source state) in _sources)
        {
            state.Refill(now, _options.HandshakesPerSecondPerSource, _options.HandshakeBurstPerSource);
            if (state.Connections == 0 && state.Tokens >= _options.HandshakeBurstPerSource)
            {
                _sources.Remove(key);
            }
        }
        _pruneThreshold = Math.Max(InitialPruneThreshold, _sources.Count * 2);
    }

    private sealed class Source(double tokens, DateTimeOffset refilled)
    {
        public double Tokens { get; set; } = tokens;
        public int Connections { get; set; }
        public int Unauthenticated { get; set; }
        private DateTimeOffset _refilled = refilled;

        public void Refill(DateTimeOffset now, double perSecond, int burst)
        {
            if (now > _refilled)
            {
                Tokens = Math.Min(burst, Tokens + (now - _refilled).TotalSeconds * perSecond);
            }
            _refilled = now;
        }
    }
}
