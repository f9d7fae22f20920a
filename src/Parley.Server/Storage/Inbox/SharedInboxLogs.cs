// Every store handle opened on the same database in this process shares one inbox log: two handles
// on one file (as the store tests open, as another node would) then give ids from one sequence and
// see each other's messages, as they did when the messages were rows. The log closes with its last
// handle. Another process is kept out by the log's lock file.
namespace Parley.Server.Storage.Inbox;

internal static class SharedInboxLogs
{
    private static readonly Lock s_gate = new();
    private static readonly Dictionary<string, Shared> s_open = new(StringComparer.Ordinal);

    private sealed class Shared(InboxLog log)
    {
        public InboxLog Log { get; } = log;
        public int Handles;
    }

    /// <summary>The log in <paramref name="directory"/>, opened by <paramref name="open"/> unless a handle in this process has it already.</summary>
    public static Lease Acquire(string directory, Func<InboxLog> open)
    {
        lock (s_gate)
        {
            if (!s_open.TryGetValue(directory, out Shared? shared))
            {
                shared = new Shared(open());
                s_open.Add(directory, shared);
            }
            shared.Handles++;
            return new Lease(directory, shared.Log);
        }
    }

    /// <summary>One handle's hold on a shared log; disposing the last closes it.</summary>
    public sealed class Lease(string directory, InboxLog log) : IDisposable
    {
        private int _disposed;

        public InboxLog Log { get; } = log;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }
            lock (s_gate)
            {
                Shared shared = s_open[directory];
                if (--shared.Handles > 0)
                {
                    return;
                }
                s_open.Remove(directory);
                shared.Log.Dispose();
            }
        }
    }
}
