// The sessions this device holds with one peer device: the one it sends on, and a few earlier
// ones it still reads. Both sides can start a session at the same moment (each sends a first
// message before seeing the other's); each then accepts the other's session and keeps its own,
// so every message of both decrypts, and the side that reads on an older session switches back
// to it, which is how the two converge (libsignal's session record does the same). A session
// that reads a message becomes the one to send on.
using Parley.EndToEnd;
using Parley.EndToEnd.Pqxdh;
using Parley.EndToEnd.Session;

namespace Parley.Client.EndToEnd;

internal sealed class PeerSessions : IDisposable
{
    /// <summary>Earlier sessions kept for reading; beyond this the oldest is deleted with its keys.</summary>
    public const int MaxArchived = 3;

    private readonly List<E2eSession> _archived = [];

    public PeerSessions(E2eSession current) => Current = current;

    /// <summary>The session messages are sent on.</summary>
    public E2eSession Current { get; private set; }

    /// <summary>When this peer was last written to or read from, in the device's own use order (for the session cap).</summary>
    public long LastUsed { get; set; }

    /// <summary>All sessions, the current one first (the order they are stored in).</summary>
    public IEnumerable<E2eSession> All => [Current, .. _archived];

    /// <summary>Decrypts with whichever session the message belongs to; a session that reads it becomes current.</summary>
    public bool TryDecrypt(ReadOnlySpan<byte> envelope, out byte[] plaintext, out E2eError error)
    {
        if (Current.TryDecrypt(envelope, out plaintext, out error))
        {
            return true;
        }
        E2eError first = error;
        for (int i = 0; i < _archived.Count; i++)
        {
            if (_archived[i].TryDecrypt(envelope, out plaintext, out _))
            {
                E2eSession reader = _archived[i];
                _archived[i] = Current;
                Current = reader;
                error = default;
                return true;
            }
        }
        error = first;
        return false;
    }

    /// <summary>True when one of these sessions was started by the prekey envelope with <paramref name="header"/>.</summary>
    public bool StartedBy(PqxdhInitialHeader header) => All.Any(s => s.WasStartedBy(header));

    /// <summary>A new session becomes current; the old one is kept for reading messages still on their way.</summary>
    public void Promote(E2eSession session)
    {
        _archived.Insert(0, Current);
        Current = session;
        while (_archived.Count > MaxArchived)
        {
            _archived[^1].Dispose();
            _archived.RemoveAt(_archived.Count - 1);
        }
    }

    /// <summary>Rebuilds the set from stored sessions, current first.</summary>
    public static PeerSessions FromStored(IReadOnlyList<E2eSession> sessions)
    {
        PeerSessions set = new(sessions[0]);
        set._archived.AddRange(sessions.Skip(1).Take(MaxArchived));
        foreach (E2eSession extra in sessions.Skip(1 + MaxArchived))
        {
            extra.Dispose();
        }
        return set;
    }

    public void Dispose()
    {
        Current.Dispose();
        foreach (E2eSession session in _archived)
        {
            session.Dispose();
        }
        _archived.Clear();
    }
}
