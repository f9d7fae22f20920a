// Each recipient's last given id, as the writer's committed transactions left it in inbox_heads,
// so that giving the next id costs a dictionary look-up instead of a statement. Correct only for a
// store with a single writer (SQLite's): nothing else changes inbox_heads while the store is open.
// Bounded: past its capacity the cache starts empty again and re-reads heads as they are needed.
namespace Parley.Server.Storage;

internal sealed class InboxHeads(int capacity)
{
    /// <summary>Heads kept between transactions: ~100 bytes each, so a few MiB at most.</summary>
    internal const int DefaultCapacity = 65_536;

    private readonly Dictionary<string, long> _committed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Head> _moved = new(StringComparer.Ordinal);

    /// <param name="Last">The last id given in this transaction.</param>
    /// <param name="Stored">True when inbox_heads already has the recipient's row (an update, not an insert).</param>
    internal readonly record struct Head(long Last, bool Stored);

    internal int CachedCount => _committed.Count;

    internal IEnumerable<(string Recipient, long Last, bool Stored)> Moved
    {
        get
        {
            foreach ((string recipient, Head moved) in _moved)
            {
                yield return (recipient, moved.Last, moved.Stored);
            }
        }
    }

    internal void BeginTransaction() => _moved.Clear();

    /// <param name="readStored">Reads the recipient's stored head, null when it has no row yet.</param>
    internal long Next(string recipient, Func<string, long?> readStored)
    {
        Head moved;
        if (_moved.TryGetValue(recipient, out Head current))
        {
            moved = current with { Last = current.Last + 1 };
        }
        else if (_committed.TryGetValue(recipient, out long last))
        {
            moved = new Head(last + 1, Stored: true);
        }
        else
        {
            long? stored = readStored(recipient);
            moved = new Head((stored ?? 0) + 1, Stored: stored is not null);
        }
        _moved[recipient] = moved;
        return moved.Last;
    }

    internal void Committed()
    {
        if (_committed.Count + _moved.Count > capacity)
        {
            _committed.Clear();
        }
        foreach ((string recipient, Head moved) in _moved)
        {
            if (_committed.Count < capacity)
            {
                _committed[recipient] = moved.Last;
            }
        }
        _moved.Clear();
    }

    internal void Forget()
    {
        _committed.Clear();
        _moved.Clear();
    }
}
