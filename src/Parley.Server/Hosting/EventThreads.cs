// `parley server` runs socket continuations inline (decision 0024): a connection's code runs on
// the runtime's socket event threads, each of which serves every socket registered with it. Code
// that can block must not run there, or one slow call stalls all of that thread's connections.
// SQLite is such code: it runs a statement to completion on the calling thread, waits while
// another process holds the write lock (the 5 s busy timeout, then Microsoft.Data.Sqlite's retries
// for its 30 s command timeout: measured by EventThreadsTests), and an fsync or a page read from a
// slow disk takes what it takes. So every SQLite store method awaits Leave() first.
//
// An event thread is not a thread-pool thread, so the test is cheap: on a pool worker (the writer
// loop, a request that already hopped, a server without inline completions) Leave() completes at
// once; anywhere else the rest of the method is queued to the pool, which is the hop a server
// without inline completions made for every socket event.
using System.Runtime.CompilerServices;

namespace Parley.Server.Hosting;

public static class EventThreads
{
    /// <summary>
    /// A loop that serves one peer's records for as long as they keep coming leaves the event
    /// thread after this many (counted by <c>SecureChannel.RecordsRead</c>, KeyUpdates too), so a
    /// peer that keeps its socket full cannot keep the other connections of that thread waiting.
    /// One hop per 32 records costs a thirty-second of what every socket event cost before.
    /// </summary>
    public const int RecordsPerTurn = 32;

    /// <summary>Await before work that can block: continues on a thread-pool thread.</summary>
    public static LeaveAwaitable Leave() => default;

    /// <summary>
    /// Cancels <paramref name="source"/> without running its callbacks on an event thread.
    /// Cancelling runs the registered callbacks on the calling thread, and Npgsql's cancels a running
    /// query with a synchronous round trip to PostgreSQL: a new connection and a read, up to its
    /// 5 s timeout when the database is slow or cut off.
    /// </summary>
    public static void Cancel(CancellationTokenSource source)
    {
        if (Thread.CurrentThread.IsThreadPoolThread)
        {
            source.Cancel();
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static source =>
        {
            try
            {
                source.Cancel();
            }
            catch (Exception e) when (e is ObjectDisposedException or AggregateException)
            {
                // Disposed meanwhile, or a callback failed: each cancelled operation reports its own end.
            }
        }, source, preferLocal: false);
    }

    public readonly struct LeaveAwaitable : ICriticalNotifyCompletion
    {
        public LeaveAwaitable GetAwaiter() => this;

        public bool IsCompleted => Thread.CurrentThread.IsThreadPoolThread;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) =>
            ThreadPool.QueueUserWorkItem(static run => run(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) =>
            ThreadPool.UnsafeQueueUserWorkItem(static run => run(), continuation, preferLocal: false);
    }
}
