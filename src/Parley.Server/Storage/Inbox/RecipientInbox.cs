// One recipient's undelivered messages as the inbox log's index keeps them: where each one's entry
// is on disk, never its body. Ids only grow within an inbox, so the entries are an array sorted by
// id; acknowledgements mostly remove the oldest, so removal marks an entry and the live range's
// start moves past marked ones, and the array is compacted when marks inside it pile up.
namespace Parley.Server.Storage.Inbox;

/// <summary>Where a message's entry is: segment number, offset and length of the entry in that segment.</summary>
internal readonly record struct EntryPlace(int Segment, int Offset, int Length);

internal sealed class RecipientInbox(string recipient)
{
    internal struct Entry
    {
        public long Id;
        public long Timestamp;
        public EntryPlace Place;
        public int BodyLength;
        /// <summary>Index into the inbox's device names; 0 is "" (the account's, any device may take it).</summary>
        public int Device;
        public bool Removed;
    }

    private Entry[] _entries = [];
    private int _start;
    private int _end;
    private int _removedInside;
    private string[] _devices = [""];

    public string Recipient { get; } = recipient;

    /// <summary>The highest id given to this recipient that the log holds or held.</summary>
    public long Head { get; set; }

    /// <summary>True while <see cref="Head"/> is ahead of the stored head row (it must be written before a segment holding it is deleted).</summary>
    public bool HeadUnsaved { get; set; }

    public int Count { get; private set; }

    public long BodyBytes { get; private set; }

    public string DeviceName(int device) => _devices[device];

    /// <summary>
    /// The distinct device names this inbox's entries were addressed to (the expiry asks which still
    /// exist), and perhaps some no live entry names any more: see <see cref="CompactDeviceNames"/>.
    /// </summary>
    public IReadOnlyList<string> DeviceNames => _devices;

    /// <summary>
    /// Adds a message, or moves one the index holds to where the log holds it again (a compaction's
    /// copy: <paramref name="replaced"/> is where it was). A committed message's id is above every
    /// other here; in a replay, a compaction's copy may come after later messages of the same
    /// recipient, and goes in at its place by id. Every entry of a message comes before its removal
    /// in the log, so an id seen for the first time is never one already removed.
    /// </summary>
    public void Put(long id, long timestamp, string recipientDevice, int bodyLength, EntryPlace place, out EntryPlace? replaced)
    {
        replaced = null;
        // Committing, every id is above the last: no search.
        int at = _end == _start || id > _entries[_end - 1].Id ? _end : FirstAbove(id - 1);
        if (at < _end && _entries[at].Id == id)
        {
            if (!_entries[at].Removed)
            {
                replaced = _entries[at].Place;
                _entries[at].Place = place;
                return;
            }
            // A marked slot of this id (removed, not yet compacted away): it takes the entry again.
            int device = DeviceIndex(recipientDevice);
            _entries[at] = NewEntry(id, timestamp, device, bodyLength, place);
            _removedInside--;
        }
        else
        {
            // Before the shift: naming a new device may renumber every entry in [_start, _end).
            int device = DeviceIndex(recipientDevice);
            if (_end == _entries.Length)
            {
                Grow();
                at = FirstAbove(id - 1);
            }
            Array.Copy(_entries, at, _entries, at + 1, _end - at);
            _entries[at] = NewEntry(id, timestamp, device, bodyLength, place);
            _end++;
        }
        Count++;
        BodyBytes += bodyLength;
        Head = Math.Max(Head, id);
    }

    private static Entry NewEntry(long id, long timestamp, int device, int bodyLength, EntryPlace place) =>
        new() { Id = id, Timestamp = timestamp, Place = place, BodyLength = bodyLength, Device = device };

    /// <summary>The live entry with <paramref name="id"/>, if any.</summary>
    public bool TryGet(long id, out Entry entry)
    {
        int at = Find(id);
        if (at >= 0 && !_entries[at].Removed)
        {
            entry = _entries[at];
            return true;
        }
        entry = default;
        return false;
    }

    /// <summary>Removes the live entry with <paramref name="id"/>; false when there is none.</summary>
    public bool Remove(long id, out Entry removed)
    {
        int at = Find(id);
        if (at < 0 || _entries[at].Removed)
        {
            removed = default;
            return false;
        }
        removed = _entries[at];
        _entries[at].Removed = true;
        Count--;
        BodyBytes -= removed.BodyLength;
        if (at == _start)
        {
            // Entries marked while they were not the first were counted inside: the start passes them now.
            _start++;
            while (_start < _end && _entries[_start].Removed)
            {
                _start++;
                _removedInside--;
            }
        }
        else
        {
            _removedInside++;
        }
        if (Count == 0)
        {
            _start = _end = _removedInside = 0;
        }
        else if (_removedInside > 16 && _removedInside > Count)
        {
            Compact();
        }
        return true;
    }

    /// <summary>The live entries in id order.</summary>
    public IEnumerable<Entry> Live()
    {
        for (int i = _start; i < _end; i++)
        {
            if (!_entries[i].Removed)
            {
                yield return _entries[i];
            }
        }
    }

    /// <summary>
    /// Live entries above <paramref name="afterId"/> that <paramref name="device"/> may take, oldest
    /// first: at most <paramref name="limit"/>, and beyond the first, at most <paramref name="maxBodyBytes"/> of bodies.
    /// </summary>
    public void Page(string device, long afterId, int limit, long maxBodyBytes, List<Entry> page)
    {
        int at = FirstAbove(afterId);
        long bytes = 0;
        for (; at < _end && page.Count < limit; at++)
        {
            Entry entry = _entries[at];
            if (entry.Removed || (entry.Device != 0 && _devices[entry.Device] != device))
            {
                continue;
            }
            bytes += entry.BodyLength;
            if (page.Count > 0 && bytes > maxBodyBytes)
            {
                break;
            }
            page.Add(entry);
        }
    }

    private int FirstAbove(long afterId)
    {
        int low = _start;
        int high = _end;
        while (low < high)
        {
            int middle = (int)((uint)(low + high) >> 1);
            if (_entries[middle].Id <= afterId)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    private int Find(long id)
    {
        int at = FirstAbove(id - 1);
        return at < _end && _entries[at].Id == id ? at : -1;
    }

    private int DeviceIndex(string device)
    {
        for (int i = 0; i < _devices.Length; i++)
        {
            if (string.Equals(_devices[i], device, StringComparison.Ordinal))
            {
                return i;
            }
        }
        // Names were only ever added: a recipient whose inbox never emptied while its devices came
        // and went (a new device at every password login) kept every name, each Put scanned them
        // all, and past 65,535 a commit failed after its frame was on disk (found by review). Now
        // the list drops the names no live entry uses whenever it reaches a power of two.
        if (_devices.Length >= 16 && int.IsPow2(_devices.Length))
        {
            CompactDeviceNames();
        }
        _devices = [.. _devices, device];
        return _devices.Length - 1;
    }

    /// <summary>Keeps only the device names live entries use ("" always first), renumbering the entries.</summary>
    public void CompactDeviceNames()
    {
        int[] renumbered = new int[_devices.Length];
        Array.Fill(renumbered, -1);
        renumbered[0] = 0;
        List<string> kept = [""];
        for (int i = _start; i < _end; i++)
        {
            ref Entry entry = ref _entries[i];
            if (entry.Removed)
            {
                entry.Device = 0;
                continue;
            }
            if (renumbered[entry.Device] < 0)
            {
                renumbered[entry.Device] = kept.Count;
                kept.Add(_devices[entry.Device]);
            }
            entry.Device = renumbered[entry.Device];
        }
        _devices = [.. kept];
    }

    private void Grow()
    {
        int live = _end - _start;
        if (_start > 0 && live <= _entries.Length / 2)
        {
            Array.Copy(_entries, _start, _entries, 0, live);
        }
        else
        {
            Entry[] larger = new Entry[Math.Max(8, _entries.Length * 2)];
            Array.Copy(_entries, _start, larger, 0, live);
            _entries = larger;
        }
        _start = 0;
        _end = live;
    }

    private void Compact()
    {
        int to = 0;
        for (int i = _start; i < _end; i++)
        {
            if (!_entries[i].Removed)
            {
                _entries[to++] = _entries[i];
            }
        }
        _start = 0;
        _end = to;
        _removedInside = 0;
    }
}
