// The names of the users online, kept sorted as they come and go, so that a page of `list` is a
// binary search and a copy of at most one page: O(log n + page) whatever the number online and
// however often a client asks. Sorting every name online for each page cost 1 - 2 ms at 10,000
// users, and `list` has no rate limit of its own (a review of decision 0024 found it). The price
// moves to the moments a user comes online or goes offline: an insertion or removal in a sorted
// array, a memmove of up to n references (~40 KB at 10,000 online), bounded by the login rate.
namespace Parley.Server.Delivery;

internal sealed class SortedNames
{
    private readonly List<string> _names = [];
    private readonly object _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _names.Count;
            }
        }
    }

    /// <summary>Adds <paramref name="name"/> (once: a name already there stays as it is).</summary>
    public void Add(string name)
    {
        lock (_lock)
        {
            int at = _names.BinarySearch(name, StringComparer.Ordinal);
            if (at < 0)
            {
                _names.Insert(~at, name);
            }
        }
    }

    public void Remove(string name)
    {
        lock (_lock)
        {
            int at = _names.BinarySearch(name, StringComparer.Ordinal);
            if (at >= 0)
            {
                _names.RemoveAt(at);
            }
        }
    }

    /// <summary>Up to <paramref name="max"/> names sorted after <paramref name="after"/> (from the first when null), and whether more follow.</summary>
    public (string[] Names, bool More) After(string? after, int max)
    {
        lock (_lock)
        {
            int start = 0;
            if (after is not null)
            {
                int at = _names.BinarySearch(after, StringComparer.Ordinal);
                start = at >= 0 ? at + 1 : ~at;
            }
            int count = Math.Min(max, _names.Count - start);
            return count <= 0 ? ([], false) : ([.. _names.GetRange(start, count)], start + count < _names.Count);
        }
    }

    public string[] All()
    {
        lock (_lock)
        {
            return [.. _names];
        }
    }
}
