// Who may hold an HTTP connection to the web port before it becomes a WebSocket. The server's own
// admission (ConnectionAdmission) starts at the upgrade; before it, Kestrel would keep any number
// of silent connections for minutes (its defaults), and one address could take the process's file
// descriptors and memory without sending a byte. So each connection is counted from the moment it
// is accepted until it upgrades or ends: at most MaxUnauthenticatedPerSource from one source and
// MaxUnauthenticatedConnections in all, the same bounds as connections that have not logged in.
// A refused connection is closed before Kestrel reads anything from it.
namespace Parley.Server.Web;

internal sealed class WebConnectionGate(int perSource, int total)
{
    private readonly Dictionary<string, int> _bySource = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _waiting;

    /// <summary>Connections counted now (accepted, not upgraded, not ended).</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting;
            }
        }
    }

    /// <summary>A slot for a new connection from <paramref name="source"/>, or null when either bound is reached.</summary>
    public Slot? TryEnter(string source)
    {
        lock (_lock)
        {
            _bySource.TryGetValue(source, out int held);
            if (held >= perSource || _waiting >= total)
            {
                return null;
            }
            _bySource[source] = held + 1;
            _waiting++;
            return new Slot(this, source);
        }
    }

    private void Leave(string source)
    {
        lock (_lock)
        {
            _waiting--;
            if (--_bySource[source] == 0)
            {
                _bySource.Remove(source);
            }
        }
    }

    /// <summary>One connection's place: given back once, at its upgrade or its end, whichever comes first.</summary>
    public sealed class Slot(WebConnectionGate gate, string source)
    {
        private int _left;

        public void Leave()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                gate.Leave(source);
            }
        }
    }
}
