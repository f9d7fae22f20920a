using Parley.Server.Hosting;
using Parley.Server.Storage;
using Parley.Server.Storage.Inbox;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>
/// `parley server` runs socket continuations on the runtime's socket event threads (decision
/// 0024), so nothing that can block may run there. The SQLite stores are the code that can: these
/// tests play another process holding the database's write lock (a backup, an operator's sqlite3)
/// and call the store from a thread outside the pool, as a socket event thread is. The call must
/// come back at once, its work waiting on a pool thread, not on the caller.
/// </summary>
public sealed class EventThreadsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Leave_moves_a_caller_outside_the_pool_onto_a_pool_thread()
    {
        TaskCompletionSource<(bool Before, bool After)> seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Thread eventThread = new(() =>
        {
            bool before = Thread.CurrentThread.IsThreadPoolThread;
            _ = ContinueAsync();

            async Task ContinueAsync()
            {
                await EventThreads.Leave();
                seen.SetResult((before, Thread.CurrentThread.IsThreadPoolThread));
            }
        })
        { IsBackground = true, Name = "stand-in socket event thread" };
        eventThread.Start();

        (bool before, bool after) = await seen.Task.WithTimeout();
        Assert.False(before);
        Assert.True(after);
    }

    [Fact]
    public async Task Leave_on_a_pool_thread_goes_on_without_a_hop()
    {
        (bool completedAtOnce, int threadBefore, int threadAfter) = await Task.Run(async () =>
        {
            bool atOnce = EventThreads.Leave().IsCompleted;
            int before = Environment.CurrentManagedThreadId;
            await EventThreads.Leave();
            return (atOnce, before, Environment.CurrentManagedThreadId);
        });
        Assert.True(completedAtOnce);
        Assert.Equal(threadBefore, threadAfter);
    }

    [Fact]
    public async Task Cancelling_from_an_event_thread_runs_the_callbacks_on_a_pool_thread()
    {
        // Npgsql's callback cancels a query with a synchronous round trip to PostgreSQL.
        using CancellationTokenSource source = new();
        TaskCompletionSource<bool> callback = new(TaskCreationOptions.RunContinuationsAsynchronously);
        source.Token.Register(() => callback.SetResult(Thread.CurrentThread.IsThreadPoolThread));
        Thread eventThread = new(() => EventThreads.Cancel(source)) { IsBackground = true, Name = "stand-in socket event thread" };
        eventThread.Start();
        Assert.True(await callback.Task.WithTimeout());
        Assert.True(source.IsCancellationRequested);
    }

    [Fact]
    public async Task Cancelling_on_a_pool_thread_is_done_before_it_returns()
    {
        using CancellationTokenSource source = new();
        bool cancelled = await Task.Run(() =>
        {
            EventThreads.Cancel(source);
            return source.IsCancellationRequested;
        });
        Assert.True(cancelled);
    }

    public static TheoryData<string> Writes => ["account", "device token", "group", "file upload"];

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task A_store_write_waiting_for_another_process_does_not_hold_the_calling_thread(string write)
    {
        string messagesDb = _directory.File("parley.db");
        string filesDb = _directory.File("files.db");
        await using SqliteMessageStore messages = await SqliteMessageStore.OpenAsync(messagesDb);
        await using SqliteFileStore files = await SqliteFileStore.OpenAsync(filesDb);
        Assert.True(await messages.TryCreateAccountAsync(AccountNamed("carol"), CancellationToken.None));
        Func<Task> operation = write switch
        {
            "account" => () => messages.TryCreateAccountAsync(AccountNamed("dave"), CancellationToken.None),
            "device token" => () => messages.TryAddDeviceTokenAsync(new byte[32], "dev-1", "carol", 5, 10, CancellationToken.None),
            "group" => () => messages.CreateGroupAsync("friends", "g-1", "carol", [], 5, new GroupBounds(50, 10), CancellationToken.None),
            _ => () => files.CreateUploadAsync(new NewUpload("f-1", "carol", "dev-1", ["carol"], 10, 10, 1, 5), CancellationToken.None),
        };

        using DatabaseWriteLock outsider = DatabaseWriteLock.Take(write == "file upload" ? filesDb : messagesDb);
        Task pending = await CallFromOutsideThePoolAsync(operation);
        // The store's write is waiting in SQLite's busy handler (up to 5 s) on a pool thread; had it
        // run on the caller, the call would have come back only when that wait ended.
        Assert.False(pending.IsCompleted, $"the {write} write ran on the calling thread");

        outsider.Release();
        await pending.WithTimeout();
    }

    [Fact]
    public async Task A_login_s_empty_inbox_is_answered_on_the_calling_thread_and_a_full_one_is_read()
    {
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(_directory.File("parley.db"));
        Func<Task> load = () => store.LoadInboxAsync("carol", "dev-1", 0, 100, 1 << 20, CancellationToken.None);
        Func<Task> loadAbove(long id) => () => store.LoadInboxAsync("carol", "dev-1", id, 100, 1 << 20, CancellationToken.None);

        // Nothing ever stored: the index answers before the call returns, on the stand-in event thread.
        (Task empty, bool answeredAtOnce) = await CallFromOutsideThePoolAsync(load, seeIfDone: true);
        Assert.True(answeredAtOnce);
        Assert.Empty(await (Task<IReadOnlyList<StoredMessage>>)empty);

        CommitResult stored = await store.CommitAsync(
            [new NewMessage("dave", "carol", 1, "text/plain", "hello"u8.ToArray(), Broadcast: false)], [], CancellationToken.None);
        long id = Assert.Single(stored.Stored).Id;
        // A message above the mark is read from the log (after leaving the event thread; whether the
        // pool finished it before the call returned is a race, so only the result is checked).
        Task full = await CallFromOutsideThePoolAsync(load);
        Assert.Equal("hello"u8.ToArray(), Assert.Single(await ((Task<IReadOnlyList<StoredMessage>>)full).WithTimeout()).Body);

        // Everything up to the mark delivered already, or acknowledged: the index answers again.
        (Task above, bool aboveAtOnce) = await CallFromOutsideThePoolAsync(loadAbove(id), seeIfDone: true);
        Assert.True(aboveAtOnce);
        Assert.Empty(await (Task<IReadOnlyList<StoredMessage>>)above);
        await store.CommitAsync([], [new InboxAck("carol", "", id)], CancellationToken.None);
        (Task acknowledged, bool acknowledgedAtOnce) = await CallFromOutsideThePoolAsync(load, seeIfDone: true);
        Assert.True(acknowledgedAtOnce);
        Assert.Empty(await (Task<IReadOnlyList<StoredMessage>>)acknowledged);
    }

    [Fact]
    public async Task While_a_walk_of_the_index_holds_its_lock_an_empty_inbox_takes_the_ordinary_path_and_waits_off_the_event_thread()
    {
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(_directory.File("parley.db"));
        InboxLog log = store.InboxLogForTests;
        Assert.True(log.HoldsNothingAbove("carol", 0));

        using ManualResetEventSlim held = new();
        using ManualResetEventSlim release = new();
        Thread walker = new(() =>
        {
            using (log.HoldIndexForTests())
            {
                held.Set();
                release.Wait();
            }
        })
        { IsBackground = true, Name = "stand-in index walk" };
        walker.Start();
        Assert.True(held.Wait(TimeSpan.FromSeconds(30)));
        Task<IReadOnlyList<StoredMessage>> load;
        try
        {
            // Busy: "maybe", never a wait on the lock (asked on the pool, so a wait fails by timeout, not by a hung test).
            Assert.False(await Task.Run(() => log.HoldsNothingAbove("carol", 0)).WithTimeout());
            // So the load leaves the stand-in event thread (it returns unfinished) and waits for the lock on the pool.
            (Task task, bool answeredAtOnce) = await CallFromOutsideThePoolAsync(
                () => store.LoadInboxAsync("carol", "dev-1", 0, 100, 1 << 20, CancellationToken.None), seeIfDone: true);
            Assert.False(answeredAtOnce);
            load = (Task<IReadOnlyList<StoredMessage>>)task;
        }
        finally
        {
            release.Set();
        }
        Assert.Empty(await load.WithTimeout());
        Assert.True(walker.Join(TimeSpan.FromSeconds(30)));
        Assert.True(log.HoldsNothingAbove("carol", 0));
    }

    private static Account AccountNamed(string name) =>
        new(name, new PasswordVerifier("pbkdf2-sha256", 1000, [1, 2], [3, 4]), 7, "id-" + name);

    /// <summary>Calls <paramref name="operation"/> on a thread of its own, outside the pool, and returns its task once the call returns.</summary>
    private static async Task<Task> CallFromOutsideThePoolAsync(Func<Task> operation) =>
        (await CallFromOutsideThePoolAsync(operation, seeIfDone: false)).Task;

    /// <summary>As above, and whether the task was already complete when the call returned (on that thread, before anything else could finish it).</summary>
    private static async Task<(Task Task, bool DoneWhenReturned)> CallFromOutsideThePoolAsync(Func<Task> operation, bool seeIfDone)
    {
        TaskCompletionSource<(Task, bool)> returned = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Thread eventThread = new(() =>
        {
            try
            {
                Task task = operation();
                returned.SetResult((task, seeIfDone && task.IsCompleted));
            }
            catch (Exception e)
            {
                returned.SetException(e);
            }
        })
        { IsBackground = true, Name = "stand-in socket event thread" };
        eventThread.Start();
        return await returned.Task.WithTimeout();
    }
}
