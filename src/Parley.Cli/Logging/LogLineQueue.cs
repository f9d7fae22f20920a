// Log lines reach their output from a thread of their own, through a queue bounded in characters.
// The server logs from its socket event threads (decision 0024), where a write that blocks (a
// stderr pipe nobody reads, a terminal paused with Ctrl-S, a disk that throttles writes) would stall
// every connection of that thread. When the queue is full a line is dropped and counted, and once
// there is room again a line saying how many were dropped takes their place: the log stays bounded
// in memory and says where it has a gap. A failing output (a full disk) drops lines the same way
// instead of throwing into the code that logged.
namespace Parley.Cli.Logging;

internal sealed class LogLineQueue : IDisposable
{
    /// <summary>Characters queued or being written at most (2 MiB of UTF-16; ~10,000 typical lines).</summary>
    internal const int DefaultCapacity = 1 << 20;

    /// <summary>How long disposing waits for the queue to drain before it gives up on a stuck output.</summary>
    internal static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private readonly TextWriter _output;
    private readonly bool _ownsOutput;
    private readonly Func<long, string> _droppedNotice;
    private readonly int _capacity;
    private readonly object _lock = new();
    private readonly Queue<string> _lines = new();
    private readonly Thread _writer;
    private long _held;
    private long _droppedSinceNotice;
    private long _droppedInAll;
    private bool _stopping;
    // Set while the output throws: lines that failed are noted with the next line that comes, not
    // retried on their own (which, against an output that keeps failing, would never stop).
    private bool _outputFailing;

    /// <param name="droppedNotice">The line written in place of the lines dropped, given how many.</param>
    public LogLineQueue(TextWriter output, bool ownsOutput, Func<long, string> droppedNotice, int capacity = DefaultCapacity)
    {
        _output = output;
        _ownsOutput = ownsOutput;
        _droppedNotice = droppedNotice;
        _capacity = capacity;
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "Parley log writer" };
        _writer.Start();
    }

    /// <summary>Lines dropped since the start (tests, diagnostics).</summary>
    public long Dropped
    {
        get
        {
            lock (_lock)
            {
                return _droppedInAll;
            }
        }
    }

    /// <summary>Queues <paramref name="line"/>, or drops it when the queue is full. Never waits for the output.</summary>
    public void Add(string line)
    {
        lock (_lock)
        {
            if (_stopping || _held + line.Length > _capacity)
            {
                _droppedSinceNotice++;
                _droppedInAll++;
                Monitor.Pulse(_lock);
                return;
            }
            // The notice may take the queue one short line past its capacity: bounded all the same.
            EnqueueNoticeOfDrops();
            _lines.Enqueue(line);
            _held += line.Length;
            Monitor.Pulse(_lock);
        }
    }

    private void EnqueueNoticeOfDrops()
    {
        if (_droppedSinceNotice > 0)
        {
            string notice = _droppedNotice(_droppedSinceNotice);
            _droppedSinceNotice = 0;
            _lines.Enqueue(notice);
            _held += notice.Length;
        }
    }

    private void WriteLoop()
    {
        List<string> batch = [];
        while (true)
        {
            long batchLength = 0;
            lock (_lock)
            {
                while (_lines.Count == 0 && (_droppedSinceNotice == 0 || _outputFailing) && !_stopping)
                {
                    Monitor.Wait(_lock);
                }
                if (_lines.Count == 0 && !_outputFailing)
                {
                    // Lines were dropped and nothing came after them: say so now.
                    EnqueueNoticeOfDrops();
                }
                if (_lines.Count == 0)
                {
                    return; // stopping, and everything is written
                }
                while (_lines.TryDequeue(out string? line))
                {
                    batch.Add(line);
                    batchLength += line.Length;
                }
            }
            int written = 0;
            try
            {
                foreach (string line in batch)
                {
                    _output.WriteLine(line);
                    written++;
                }
                _output.Flush();
                Volatile.Write(ref _outputFailing, false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
                lock (_lock)
                {
                    _droppedSinceNotice += batch.Count - written;
                    _droppedInAll += batch.Count - written;
                    _outputFailing = true;
                }
            }
            batch.Clear();
            lock (_lock)
            {
                _held -= batchLength;
            }
        }
    }

    /// <summary>True once the writer thread has ended (after <see cref="Dispose"/>).</summary>
    internal bool Drained => !_writer.IsAlive;

    /// <summary>Writes what is queued (waiting at most <see cref="DrainTimeout"/> for a stuck output), then closes an owned output.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        if (_writer.Join(DrainTimeout) && _ownsOutput)
        {
            _output.Dispose();
        }
    }
}
