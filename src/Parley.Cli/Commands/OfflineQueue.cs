// Messages typed while `parley chat` is reconnecting: kept in order and sent once it is logged in
// again. Bounded in lines and in bytes, so a long outage with a script still writing cannot grow
// the process without limit; a line that does not fit is refused and said so, never dropped silently.
using System.Text;

namespace Parley.Cli.Commands;

public sealed class OfflineQueue(int maxLines = OfflineQueue.DefaultMaxLines, int maxBytes = OfflineQueue.DefaultMaxBytes)
{
    public const int DefaultMaxLines = 100;
    public const int DefaultMaxBytes = 1024 * 1024;

    private readonly Queue<string> _lines = new();
    private int _bytes;

    public int Count => _lines.Count;

    /// <summary>Keeps <paramref name="line"/> for later; false when the queue is full.</summary>
    public bool TryAdd(string line)
    {
        int size = Encoding.UTF8.GetByteCount(line);
        if (_lines.Count >= maxLines || _bytes + size > maxBytes)
        {
            return false;
        }
        _lines.Enqueue(line);
        _bytes += size;
        return true;
    }

    /// <summary>Takes the oldest line, if any.</summary>
    public bool TryTake(out string line)
    {
        if (_lines.TryDequeue(out string? taken))
        {
            _bytes -= Encoding.UTF8.GetByteCount(taken);
            line = taken;
            return true;
        }
        line = "";
        return false;
    }
}
