// `parley server` runs socket continuations inline (decision 0024): a connection's code runs on
// the runtime's socket event threads, each of which serves every socket registered with it. Code
// that can block must not run there, or one slow call stalls all of that thread's connections.
// SQLite is such code: it runs a statement to completion on the calling thread, waits in its busy
// handler (up to 5 s here) while another process holds the write lock, and an fsync or a page read
// from a slow disk takes what it takes. So every SQLite store method awaits Leave() first.
//
// An event thread is not a thread-pool thread, so the test is cheap: on a pool worker (the writer
// loop, a request that already hopped, a server without inline completions) Leave() completes at
// once; anywhere else the rest of the method is queued to the pool, which is the hop a server
// without inline completions made for every socket event.
using System.Runtime.CompilerServices;

namespace Parley.Server.Hosting;

public static class EventThreads
{
    /// <summary>Await before work that can block: continues on a thread-pool thread.</summary>
    public static LeaveAwaitable Leave() => default;

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
