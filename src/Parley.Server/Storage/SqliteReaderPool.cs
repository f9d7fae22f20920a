// Reader connections with their statements compiled (SqliteReader), taken for one read and put
// back. SQLite runs a statement to completion on the calling thread, so the number in use at once
// is the number of threads reading; at most MaxIdle are kept between reads, the rest are closed.
// The bound is generous on purpose: a thread preempted mid-read (a busy machine) makes the next
// reader open a new one, and opening one (a connection, its schema, three compilations) costs
// more than many reads; with 4 kept, a login storm opened readers all along (perf: the SQL
// compiler was still 0.4% of the server's time).
using System.Collections.Concurrent;

namespace Parley.Server.Storage;

internal sealed class SqliteReaderPool(string connectionString) : IDisposable
{
    /// <summary>Readers kept open between reads (each is a SQLite connection with its page cache).</summary>
    internal static readonly int MaxIdle = Math.Max(32, 4 * Environment.ProcessorCount);

    private readonly ConcurrentQueue<SqliteReader> _idle = new();
    private int _idleCount;
    private volatile bool _disposed;

    internal int IdleCount => Volatile.Read(ref _idleCount);

    /// <summary>Runs <paramref name="read"/> on a reader; a reader whose read failed is closed, not reused.</summary>
    internal TResult Read<TState, TResult>(TState state, Func<SqliteReader, TState, TResult> read)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SqliteReader reader = Take();
        TResult result;
        try
        {
            result = read(reader, state);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
        Return(reader);
        return result;
    }

    private SqliteReader Take()
    {
        if (_idle.TryDequeue(out SqliteReader? reader))
        {
            Interlocked.Decrement(ref _idleCount);
            return reader;
        }
        return SqliteReader.Open(connectionString);
    }

    private void Return(SqliteReader reader)
    {
        if (_disposed || Interlocked.Increment(ref _idleCount) > MaxIdle)
        {
            if (!_disposed)
            {
                Interlocked.Decrement(ref _idleCount);
            }
            reader.Dispose();
            return;
        }
        _idle.Enqueue(reader);
        if (_disposed)
        {
            // Disposed while this one was being put back: close whatever is left.
            Drain();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        Drain();
    }

    private void Drain()
    {
        while (_idle.TryDequeue(out SqliteReader? reader))
        {
            Interlocked.Decrement(ref _idleCount);
            reader.Dispose();
        }
    }
}
