// The inbox as an append-only log (docs/decisions/0017). Each commit is one frame appended to the
// active segment and synced before it returns: new messages with their ids, and the removals of
// acknowledged ones. An index in memory says where each undelivered message's entry is; nothing is
// ever updated in place. A segment whose messages are all gone is overwritten with zeros and
// deleted once every older one is; a compaction copies the few live messages out of old segments
// so they can go too. SQLite spent ~8 µs of CPU per message on a b-tree insert and delete with
// their WAL frames (BENCHMARKS §2 (j)); this spends an encode, a share of one write and one sync
// per commit, and a dictionary look-up.
//
// One writer at a time: Commit, Expire, Checkpoint and Import take _writer (every store handle on
// the same file in this process shares one log, SharedInboxLogs). Load and Usage run beside it
// from any thread. Another process is kept out by the lock file.
using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Parley.Server.Storage.Inbox;

internal sealed class InboxLogOptions
{
    /// <summary>A segment past this size is closed and a new one started.</summary>
    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Called with a name at each step of the log's writes that leaves the disk in a new state (a
    /// frame synced, a segment started, heads written, a deletion's rename synced) and just before
    /// each rename: tests copy the files there, as a crash at that instant would leave them, or
    /// throw, as a failing disk would.
    /// </summary>
    internal Action<string>? Step { get; init; }

    /// <summary>
    /// No segment grows past this, whatever <see cref="SegmentBytes"/> says: an entry's place is a
    /// 32-bit offset. Reached only while starting new segments keeps failing; then a commit that
    /// would cross it fails whole. Lowered only by tests, which cannot write 2 GiB.
    /// </summary>
    internal long MaxSegmentLength { get; init; } = int.MaxValue;

    internal void Validate()
    {
        if (SegmentBytes is < 4096 or > 1L << 30)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentBytes), SegmentBytes, "an inbox log segment is 4 KiB to 1 GiB");
        }
        if (MaxSegmentLength is < 4096 or > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSegmentLength), MaxSegmentLength, "an inbox log segment's hard cap is 4 KiB to 2 GiB");
        }
    }
}

/// <summary>Each recipient's last given id as the database keeps it, outliving the segments that held the ids. The log disposes it.</summary>
internal interface IInboxHeadRows : IDisposable
{
    long? Read(string recipient);

    /// <summary>Writes every head given, durably, in one transaction.</summary>
    void Write(IReadOnlyList<(string Recipient, long Head)> heads);
}

internal sealed partial class InboxLog : IDisposable
{
    private readonly string _directory;
    private readonly InboxLogOptions _options;
    private readonly IInboxHeadRows _headRows;
    private readonly ILogger _logger;
    private readonly FileStream _lock;
    private readonly Lock _writer = new();

    // The index: every field below is read and written under _gate.
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RecipientInbox> _inboxes = new(StringComparer.Ordinal);
    private long _storedMessages;

    // Segment files, oldest first; the last is active. Changed under _files' write lock, so a reader
    // holding the read lock can read any place the index gave it.
    private readonly ReaderWriterLockSlim _files = new();
    private readonly List<InboxLogSegment> _segments = [];
    private readonly Dictionary<int, InboxLogSegment> _segmentsByNumber = [];

    // The writer's scratch, reused by every commit.
    private readonly ArrayBufferWriter<byte> _frame = new(64 * 1024);
    private readonly Dictionary<string, long> _movedHeads = new(StringComparer.Ordinal);
    private readonly HashSet<(string, long)> _removing = [];
    private readonly List<(RecipientInbox Inbox, long Id)> _removals = [];
    private readonly List<(int Offset, int Length)> _messageEntries = [];

    private Task _shredding = Task.CompletedTask;
    private Exception? _broken;

    private InboxLog(string directory, InboxLogOptions options, IInboxHeadRows headRows, ILogger logger, FileStream lockFile)
    {
        _directory = directory;
        _options = options;
        _headRows = headRows;
        _logger = logger;
        _lock = lockFile;
    }

    /// <summary>Undelivered messages held, all recipients together.</summary>
    public long StoredMessages
    {
        get
        {
            lock (_gate)
            {
                return _storedMessages;
            }
        }
    }

    /// <summary>Opens the log in <paramref name="directory"/> (created owner-only), replaying every segment into the index.</summary>
    /// <exception cref="IOException">Another store has this log open.</exception>
    /// <exception cref="InvalidDataException">A segment is damaged other than by a torn last write.</exception>
    public static InboxLog Open(string directory, IInboxHeadRows headRows, InboxLogOptions? options = null, ILogger? logger = null)
    {
        FileStream lockFile;
        try
        {
            options ??= new InboxLogOptions();
            options.Validate();
            Transport.Files.OwnerOnly.CreateDirectory(directory);
            string lockPath = Path.Combine(directory, "lock");
            if (!File.Exists(lockPath))
            {
                using FileStream _ = Transport.Files.OwnerOnly.OpenWrite(lockPath, FileMode.OpenOrCreate);
            }
            lockFile = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e)
        {
            headRows.Dispose();
            if (e is IOException and not FileNotFoundException and not DirectoryNotFoundException)
            {
                throw new IOException($"the inbox log {directory} could not be locked: another server or process has it open ({e.Message})", e);
            }
            throw;
        }
        InboxLog log = new(directory, options, headRows, logger ?? NullLogger.Instance, lockFile);
        try
        {
            log.Replay();
            return log;
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends <paramref name="messages"/> (each with its recipient's next id) and the removal of
    /// every acknowledged message the acknowledging device may remove, in one synced frame.
    /// Nothing is visible to readers, and no id is taken, until the frame is on disk.
    /// </summary>
    public CommitResult Commit(IReadOnlyList<NewMessage> messages, IReadOnlyList<InboxAck> acknowledged)
    {
        lock (_writer)
        {
            return CommitAsWriter(messages, acknowledged);
        }
    }

    private CommitResult CommitAsWriter(IReadOnlyList<NewMessage> messages, IReadOnlyList<InboxAck> acknowledged)
    {
        ThrowIfBroken();
        _frame.ResetWrittenCount();
        _frame.Advance(InboxLogFrame.HeaderBytes);
        _movedHeads.Clear();
        _messageEntries.Clear();
        long[] ids = new long[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            NewMessage message = messages[i];
            ids[i] = NextId(message.Recipient);
            int offset = _frame.WrittenCount - InboxLogFrame.HeaderBytes;
            _messageEntries.Add((offset, InboxLogEntry.WriteMessage(_frame, message, ids[i])));
        }
        List<RemovedMessage> removed = [];
        ChooseRemovals(acknowledged, removed);
        foreach ((RecipientInbox inbox, long id) in _removals)
        {
            InboxLogEntry.WriteRemoval(_frame, new InboxLogRemoval(inbox.Recipient, id));
        }
        StoredMessage[] stored = new StoredMessage[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            NewMessage m = messages[i];
            stored[i] = new StoredMessage(ids[i], m.Sender, m.Recipient, m.Timestamp, m.ContentType, m.Body, m.Broadcast, m.RecipientDevice, m.SenderDevice);
        }
        if (_frame.WrittenCount == InboxLogFrame.HeaderBytes)
        {
            return new CommitResult(stored, removed);
        }
        (InboxLogSegment segment, long payloadStart) = AppendFrame();
        lock (_gate)
        {
            for (int i = 0; i < messages.Count; i++)
            {
                NewMessage m = messages[i];
                (int offset, int length) = _messageEntries[i];
                Index(m.Recipient, ids[i], m.Timestamp, m.RecipientDevice, m.Body.Length, new EntryPlace(segment.Number, checked((int)(payloadStart + offset)), length));
            }
            foreach ((RecipientInbox inbox, long id) in _removals)
            {
                Unindex(inbox, id);
            }
        }
        AfterAppend();
        return new CommitResult(stored, removed);
    }

    /// <summary>
    /// Up to <paramref name="limit"/> messages above <paramref name="afterId"/> that
    /// <paramref name="device"/> may take, oldest first; beyond the first, at most
    /// <paramref name="maxBodyBytes"/> of bodies.
    /// </summary>
    public IReadOnlyList<StoredMessage> Load(string recipient, string device, long afterId, int limit, long maxBodyBytes)
    {
        List<RecipientInbox.Entry> page = [];
        _files.EnterReadLock();
        try
        {
            lock (_gate)
            {
                if (!_inboxes.TryGetValue(recipient, out RecipientInbox? inbox))
                {
                    return [];
                }
                inbox.Page(device, afterId, limit, maxBodyBytes, page);
            }
            StoredMessage[] messages = new StoredMessage[page.Count];
            for (int i = 0; i < page.Count; i++)
            {
                messages[i] = ReadMessage(page[i].Place);
            }
            return messages;
        }
        finally
        {
            _files.ExitReadLock();
        }
    }

    /// <summary>
    /// True when the index holds no message above <paramref name="afterId"/> for
    /// <paramref name="recipient"/>: <see cref="Load"/> would return nothing and read no file.
    /// False when it may hold one, and also when the index is busy: a caller on a socket event
    /// thread must not wait out a walk of the whole index (expiry, compaction, saving the heads,
    /// milliseconds with a large backlog), so it asks only if the lock is free and otherwise takes
    /// the ordinary path.
    /// </summary>
    public bool HoldsNothingAbove(string recipient, long afterId)
    {
        if (!_gate.TryEnter())
        {
            return false;
        }
        try
        {
            return !_inboxes.TryGetValue(recipient, out RecipientInbox? inbox) || inbox.Count == 0 || inbox.Head <= afterId;
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Holds the index's lock until the scope ends, as a walk of the whole index does; for tests of callers that must not wait on it.</summary>
    internal Lock.Scope HoldIndexForTests() => _gate.EnterScope();

    public InboxUsage Usage(string recipient)
    {
        lock (_gate)
        {
            return _inboxes.TryGetValue(recipient, out RecipientInbox? inbox) ? new InboxUsage(inbox.Count, inbox.BodyBytes) : default;
        }
    }

    /// <summary>
    /// Removes messages created before <paramref name="createdBefore"/> and those addressed to a
    /// device <paramref name="deviceExists"/> says is gone; returns how many.
    /// </summary>
    public int Expire(long createdBefore, Func<string, string, bool> deviceExists)
    {
        lock (_writer)
        {
            return ExpireAsWriter(createdBefore, deviceExists);
        }
    }

    private int ExpireAsWriter(long createdBefore, Func<string, string, bool> deviceExists)
    {
        ThrowIfBroken();
        RecipientInbox[] inboxes;
        lock (_gate)
        {
            inboxes = [.. _inboxes.Values.Where(i => i.Count > 0)];
        }
        // The database is asked outside the index's lock; only this writer changes entries meanwhile.
        List<(RecipientInbox Inbox, long Id)> expired = [];
        foreach (RecipientInbox inbox in inboxes)
        {
            string[] devices;
            lock (_gate)
            {
                // Only the names live entries use: one store query each below. An inbox at a time,
                // so readers wait for one inbox's walk, not for all of them.
                inbox.CompactDeviceNames();
                devices = [.. inbox.DeviceNames];
            }
            bool[] gone = [.. devices.Select(d => d.Length > 0 && !deviceExists(inbox.Recipient, d))];
            lock (_gate)
            {
                foreach (RecipientInbox.Entry entry in inbox.Live())
                {
                    if (entry.Timestamp < createdBefore || (entry.Device < gone.Length && gone[entry.Device]))
                    {
                        expired.Add((inbox, entry.Id));
                    }
                }
            }
        }
        // Frames of removals, each well under the largest frame.
        const int RemovalsPerFrame = 65_536;
        for (int start = 0; start < expired.Count; start += RemovalsPerFrame)
        {
            _frame.ResetWrittenCount();
            _frame.Advance(InboxLogFrame.HeaderBytes);
            int end = Math.Min(expired.Count, start + RemovalsPerFrame);
            for (int i = start; i < end; i++)
            {
                InboxLogEntry.WriteRemoval(_frame, new InboxLogRemoval(expired[i].Inbox.Recipient, expired[i].Id));
            }
            AppendFrame();
            lock (_gate)
            {
                for (int i = start; i < end; i++)
                {
                    Unindex(expired[i].Inbox, expired[i].Id);
                }
            }
            AfterAppend();
        }
        return expired.Count;
    }

    /// <summary>The recipient's next id: one above what this commit, the index or the database last gave.</summary>
    private long NextId(string recipient)
    {
        long last;
        if (_movedHeads.TryGetValue(recipient, out long moved))
        {
            last = moved;
        }
        else
        {
            RecipientInbox? inbox;
            lock (_gate)
            {
                _inboxes.TryGetValue(recipient, out inbox);
            }
            last = inbox?.Head ?? _headRows.Read(recipient) ?? 0;
        }
        _movedHeads[recipient] = last + 1;
        return last + 1;
    }

    /// <summary>The acknowledged messages this commit removes: live, of the acknowledging device or the account's, each once.</summary>
    private void ChooseRemovals(IReadOnlyList<InboxAck> acknowledged, List<RemovedMessage> removed)
    {
        _removals.Clear();
        _removing.Clear();
        if (acknowledged.Count == 0)
        {
            return;
        }
        lock (_gate)
        {
            RecipientInbox? inbox = null;
            foreach (InboxAck ack in acknowledged)
            {
                if (inbox is null || !string.Equals(inbox.Recipient, ack.Recipient, StringComparison.Ordinal))
                {
                    _inboxes.TryGetValue(ack.Recipient, out inbox);
                }
                if (inbox is not null && inbox.TryGet(ack.Id, out RecipientInbox.Entry entry)
                    && (entry.Device == 0 || string.Equals(inbox.DeviceName(entry.Device), ack.Device, StringComparison.Ordinal))
                    && _removing.Add((inbox.Recipient, ack.Id)))
                {
                    _removals.Add((inbox, ack.Id));
                    removed.Add(new RemovedMessage(inbox.Recipient, entry.BodyLength));
                }
            }
        }
    }

    /// <summary>Adds a committed (or replayed) message to the index. Under <see cref="_gate"/>.</summary>
    private void Index(string recipient, long id, long timestamp, string recipientDevice, int bodyLength, EntryPlace place)
    {
        if (!_inboxes.TryGetValue(recipient, out RecipientInbox? inbox))
        {
            inbox = new RecipientInbox(recipient);
            _inboxes.Add(recipient, inbox);
        }
        int before = inbox.Count;
        long head = inbox.Head;
        inbox.Put(id, timestamp, recipientDevice, bodyLength, place, out EntryPlace? replaced);
        if (replaced is { } old)
        {
            Segment(old.Segment).LiveMessages--;
            Segment(old.Segment).LiveBytes -= old.Length;
        }
        InboxLogSegment segment = Segment(place.Segment);
        segment.MessageBytes += place.Length;
        if (inbox.Count > before || replaced is not null)
        {
            segment.LiveMessages++;
            segment.LiveBytes += place.Length;
        }
        _storedMessages += inbox.Count - before;
        if (inbox.Head > head)
        {
            inbox.HeadUnsaved = true;
        }
    }

    /// <summary>
    /// Raises <paramref name="inbox"/>'s head to the database's where that is higher (the segments
    /// that held later ids are gone), and notes whether the log is ahead of it. Writer only.
    /// </summary>
    private void MergeStoredHead(RecipientInbox inbox)
    {
        long stored = _headRows.Read(inbox.Recipient) ?? 0;
        lock (_gate)
        {
            inbox.HeadUnsaved = inbox.Head > stored;
            inbox.Head = Math.Max(inbox.Head, stored);
        }
    }

    /// <summary>Removes a message from the index. Under <see cref="_gate"/>.</summary>
    private void Unindex(RecipientInbox inbox, long id)
    {
        if (inbox.Remove(id, out RecipientInbox.Entry entry))
        {
            InboxLogSegment segment = Segment(entry.Place.Segment);
            segment.LiveMessages--;
            segment.LiveBytes -= entry.Place.Length;
            _storedMessages--;
        }
    }

    private InboxLogSegment Segment(int number) => _segmentsByNumber[number];

    private StoredMessage ReadMessage(EntryPlace place)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(place.Length);
        try
        {
            Span<byte> entry = buffer.AsSpan(0, place.Length);
            ReadExactly(Segment(place.Segment), entry, place.Offset);
            return InboxLogEntry.ReadMessage(entry);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void ReadExactly(InboxLogSegment segment, Span<byte> into, long offset)
    {
        while (!into.IsEmpty)
        {
            int read = RandomAccess.Read(segment.Handle, into, offset);
            if (read == 0)
            {
                throw new InvalidDataException($"{segment.Path} ends before an entry the index points to");
            }
            into = into[read..];
            offset += read;
        }
    }

    private void ThrowIfBroken()
    {
        if (_broken is { } cause)
        {
            throw new IOException("the inbox log could not be written and takes nothing more until the server restarts: " + cause.Message, cause);
        }
    }

    public void Dispose()
    {
        try
        {
            _shredding.Wait();
        }
        catch (AggregateException)
        {
            // A segment not shredded stays as *.dead and is shredded at the next open.
        }
        _files.EnterWriteLock();
        try
        {
            foreach (InboxLogSegment segment in _segments)
            {
                segment.Dispose();
            }
            _segments.Clear();
            _segmentsByNumber.Clear();
        }
        finally
        {
            _files.ExitWriteLock();
        }
        _headRows.Dispose();
        _lock.Dispose();
    }
}
