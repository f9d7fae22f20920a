// The life of segment files: appending a frame, starting a new segment, deleting segments no
// message needs, and compacting the live messages out of segments that hold removed ones.
//
// Two rules keep replay right, since a removal always follows its message in the log:
// - Between checkpoints only the oldest segments are deleted, and only when none of their messages
//   is live: a deleted segment's removals can only name messages in segments deleted with it or before.
// - A compaction copies the live messages of every segment holding a removed (or already copied)
//   message's bytes, then deletes all of those segments, oldest first. What stays holds live
//   messages only, each exactly once, so no removal is needed for what stays; and deleting oldest
//   first means a crash part-way leaves every removal whose message is still on disk.
// Each deletion is a rename to *.dead with the directory synced at once, so renames reach the disk
// in that order. The heads of recipients whose ids the deleted segments held are written to the
// database first (inbox_heads), so an id is never given twice.
//
// A *.dead segment is then overwritten with zeros and unlinked in the background: an acknowledged
// body does not stay recoverable from the disk, and a crash mid-way leaves a *.dead file that the
// next open finishes, never a damaged segment.
using Microsoft.Extensions.Logging;

namespace Parley.Server.Storage.Inbox;

internal sealed partial class InboxLog
{
    /// <summary>Copies of live messages go into frames of about this size.</summary>
    private const int CompactionFrameBytes = 4 * 1024 * 1024;

    private InboxLogSegment Active => _segments[^1];

    /// <summary>
    /// Seals the frame in <see cref="_frame"/> and appends it to the active segment, synced; returns
    /// that segment and where in it the frame's payload begins (entry places are offsets from there).
    /// </summary>
    private (InboxLogSegment Segment, long PayloadStart) AppendFrame()
    {
        int payload = _frame.WrittenCount - InboxLogFrame.HeaderBytes;
        int frameBytes = InboxLogFrame.FrameBytes(payload);
        // The padding, if any, becomes part of the written span.
        _frame.GetSpan(frameBytes - _frame.WrittenCount);
        _frame.Advance(frameBytes - _frame.WrittenCount);
        Span<byte> frame = System.Runtime.InteropServices.MemoryMarshal.AsMemory(_frame.WrittenMemory).Span;
        if (Active.Length + frame.Length > _options.MaxSegmentLength)
        {
            // Only when starting new segments kept failing: a place in the index is a 32-bit offset.
            // Refused before anything is written, so the commit fails whole and takes no id.
            StartSegment();
        }
        InboxLogSegment segment = Active;
        InboxLogFrame.Seal(frame, payload, segment.Key);
        long before = segment.Length;
        try
        {
            segment.Append(frame);
        }
        catch (Exception e)
        {
            // Not acknowledged to anyone. The segment must end where it did, or the next frame
            // would follow a broken one; if even that fails, stop taking writes (fail closed).
            try
            {
                segment.Truncate(before);
            }
            catch (Exception)
            {
                _broken = e;
            }
            throw new IOException("the inbox log could not be written: " + e.Message, e);
        }
        _options.Step?.Invoke("frame");
        return (segment, before + InboxLogFrame.HeaderBytes);
    }

    /// <summary>After a frame: a full active segment is closed, and segments nothing needs are deleted.</summary>
    private void AfterAppend()
    {
        if (Active.Length < _options.SegmentBytes)
        {
            return;
        }
        // The frame is on disk and its commit happened: housekeeping that fails must not make it
        // look failed. It is tried again after the next frame; the log says so once, not per commit.
        try
        {
            StartSegment();
            DeleteDeadPrefix();
            CompactIfSparse();
            if (_housekeepingFailing)
            {
                _housekeepingFailing = false;
                _logger.LogInformation("The inbox log's segments are managed again");
            }
        }
        catch (Exception e)
        {
            if (!_housekeepingFailing)
            {
                _housekeepingFailing = true;
                _logger.LogWarning("The inbox log could not start a new segment or delete old ones ({Error}); it keeps appending and tries again", e.Message);
            }
        }
    }

    private bool _housekeepingFailing;

    /// <summary>Starts a new active segment, its name made durable before any frame goes into it.</summary>
    private void StartSegment()
    {
        int number = _segments.Count == 0 ? 1 : Active.Number + 1;
        InboxLogSegment segment = InboxLogSegment.Create(_directory, number);
        try
        {
            DirectorySync.Sync(_directory);
        }
        catch
        {
            segment.Dispose();
            File.Delete(segment.Path);
            throw;
        }
        _files.EnterWriteLock();
        try
        {
            _segments.Add(segment);
            _segmentsByNumber.Add(number, segment);
        }
        finally
        {
            _files.ExitWriteLock();
        }
        _options.Step?.Invoke("segment started");
    }

    /// <summary>Deletes the oldest closed segments while none of their messages is live.</summary>
    private void DeleteDeadPrefix()
    {
        List<InboxLogSegment> dead = [];
        lock (_gate)
        {
            for (int i = 0; i < _segments.Count - 1 && _segments[i].LiveMessages == 0; i++)
            {
                dead.Add(_segments[i]);
            }
        }
        DeleteSegments(dead);
    }

    /// <summary>
    /// Deletes closed segments none of whose messages is live, oldest first, each rename synced
    /// before the next, then has them overwritten and unlinked in the background.
    /// </summary>
    private void DeleteSegments(List<InboxLogSegment> segments)
    {
        if (segments.Count == 0)
        {
            return;
        }
        SaveHeads();
        segments.Sort((a, b) => a.Number.CompareTo(b.Number));
        List<string> doomed = [];
        try
        {
            foreach (InboxLogSegment segment in segments)
            {
                _files.EnterWriteLock();
                try
                {
                    // Renamed first: if that fails the segment stays known and whole (its removals are
                    // still needed), and the next compaction or checkpoint takes it again.
                    _options.Step?.Invoke("renaming " + segment.Number);
                    File.Move(segment.Path, segment.Path + ".dead", overwrite: true);
                    segment.Dispose();
                    _segments.Remove(segment);
                    _segmentsByNumber.Remove(segment.Number);
                }
                finally
                {
                    _files.ExitWriteLock();
                }
                doomed.Add(segment.Path + ".dead");
                DirectorySync.Sync(_directory);
                _options.Step?.Invoke("deleted " + segment.Number);
            }
        }
        finally
        {
            if (doomed.Count > 0)
            {
                _shredding = _shredding.ContinueWith(_ => Shred(doomed, _logger), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// Writes the head of every recipient whose ids the log alone holds, then lets go of inboxes
    /// that are empty: their next id comes from the database again.
    /// </summary>
    private void SaveHeads()
    {
        List<(string, long)> unsaved = [];
        lock (_gate)
        {
            foreach (RecipientInbox inbox in _inboxes.Values)
            {
                if (inbox.HeadUnsaved)
                {
                    unsaved.Add((inbox.Recipient, inbox.Head));
                }
            }
        }
        if (unsaved.Count > 0)
        {
            _headRows.Write(unsaved);
            _options.Step?.Invoke("heads written");
        }
        lock (_gate)
        {
            List<string> empty = [];
            foreach (RecipientInbox inbox in _inboxes.Values)
            {
                inbox.HeadUnsaved = false;
                if (inbox.Count == 0)
                {
                    empty.Add(inbox.Recipient);
                }
            }
            foreach (string recipient in empty)
            {
                _inboxes.Remove(recipient);
            }
        }
    }

    /// <summary>
    /// When the closed segments are mostly dead (a quarter or less live, over two segments' worth),
    /// those holding removed messages are compacted: the disk holds at most about four times what
    /// is undelivered, and each byte is copied at most a third of a time on average.
    /// </summary>
    private void CompactIfSparse()
    {
        long closedBytes = 0;
        long closedLive = 0;
        lock (_gate)
        {
            for (int i = 0; i < _segments.Count - 1; i++)
            {
                closedBytes += _segments[i].Length;
                closedLive += _segments[i].LiveBytes;
            }
        }
        if (closedBytes >= 2 * _options.SegmentBytes && closedLive * 4 <= closedBytes)
        {
            CompactClosed();
        }
    }

    /// <summary>
    /// When any message was removed since the last time, compacts every segment that holds a
    /// removed message's bytes (the active one too, closed first): after it returns, no removed
    /// (acknowledged or expired) message's bytes remain in any segment file; the segments let go
    /// are overwritten in the background (<see cref="Shredded"/>). Segments whose messages are all
    /// live are left as they are, so the backlog of undelivered messages is not copied each time.
    /// The periodic sweep calls it.
    /// </summary>
    public void Checkpoint()
    {
        lock (_writer)
        {
            CheckpointAsWriter();
        }
    }

    /// <summary>Completes when every segment deleted so far has been overwritten and unlinked (tests wait on it).</summary>
    internal Task Shredded => _shredding;

    private void CheckpointAsWriter()
    {
        ThrowIfBroken();
        bool removedBodies;
        lock (_gate)
        {
            removedBodies = _segments.Any(segment => segment.MessageBytes > segment.LiveBytes);
        }
        // With nothing removed since the last checkpoint there is nothing to overwrite.
        if (removedBodies)
        {
            bool activeHoldsRemoved;
            lock (_gate)
            {
                activeHoldsRemoved = Active.MessageBytes > Active.LiveBytes;
            }
            if (activeHoldsRemoved)
            {
                StartSegment();
            }
            CompactClosed();
        }
        // Deleted segments a failed overwrite left behind are tried again.
        string[] leftover = Directory.GetFiles(_directory, "*.log.dead");
        if (leftover.Length > 0)
        {
            _shredding = _shredding.ContinueWith(_ => Shred(leftover, _logger), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Copies the live messages of every closed segment holding a removed (or already copied)
    /// message's bytes into the active one, then deletes those segments.
    /// </summary>
    private void CompactClosed()
    {
        HashSet<int> victims = [];
        List<(RecipientInbox Inbox, RecipientInbox.Entry Entry)> live = [];
        lock (_gate)
        {
            for (int i = 0; i < _segments.Count - 1; i++)
            {
                if (_segments[i].MessageBytes > _segments[i].LiveBytes)
                {
                    victims.Add(_segments[i].Number);
                }
            }
            if (victims.Count == 0)
            {
                return;
            }
            foreach (RecipientInbox inbox in _inboxes.Values)
            {
                foreach (RecipientInbox.Entry entry in inbox.Live())
                {
                    if (victims.Contains(entry.Place.Segment))
                    {
                        live.Add((inbox, entry));
                    }
                }
            }
        }
        // Read in file order; write each recipient's copies in the order they are found (any order replays the same).
        live.Sort((a, b) => a.Entry.Place.Segment != b.Entry.Place.Segment
            ? a.Entry.Place.Segment.CompareTo(b.Entry.Place.Segment)
            : a.Entry.Place.Offset.CompareTo(b.Entry.Place.Offset));
        int next = 0;
        while (next < live.Count)
        {
            _frame.ResetWrittenCount();
            _frame.Advance(InboxLogFrame.HeaderBytes);
            int first = next;
            List<(int Offset, int Length)> copies = [];
            while (next < live.Count && (next == first || _frame.WrittenCount + live[next].Entry.Place.Length <= CompactionFrameBytes))
            {
                EntryPlace place = live[next].Entry.Place;
                copies.Add((_frame.WrittenCount - InboxLogFrame.HeaderBytes, place.Length));
                Span<byte> copy = _frame.GetSpan(place.Length)[..place.Length];
                ReadExactly(Segment(place.Segment), copy, place.Offset);
                _frame.Advance(place.Length);
                next++;
            }
            (InboxLogSegment segment, long payloadStart) = AppendFrame();
            lock (_gate)
            {
                for (int i = first; i < next; i++)
                {
                    (RecipientInbox inbox, RecipientInbox.Entry entry) = live[i];
                    (int offset, int length) = copies[i - first];
                    Index(inbox.Recipient, entry.Id, entry.Timestamp, inbox.DeviceName(entry.Device), entry.BodyLength,
                        new EntryPlace(segment.Number, checked((int)(payloadStart + offset)), length));
                }
            }
            if (Active.Length >= _options.SegmentBytes)
            {
                StartSegment();
            }
        }
        List<InboxLogSegment> emptied;
        lock (_gate)
        {
            emptied = [.. _segments.Where(segment => victims.Contains(segment.Number))];
        }
        DeleteSegments(emptied);
        DeleteDeadPrefix();
    }

    /// <summary>Overwrites each file with zeros, synced, and unlinks it; one that fails stays *.dead for the next open.</summary>
    private static void Shred(IReadOnlyList<string> paths, ILogger logger)
    {
        byte[] zeros = new byte[1024 * 1024];
        foreach (string path in paths)
        {
            if (!File.Exists(path))
            {
                // Already shredded by an earlier pass that had it queued.
                continue;
            }
            try
            {
                using (Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write))
                {
                    long length = RandomAccess.GetLength(handle);
                    for (long at = 0; at < length; at += zeros.Length)
                    {
                        RandomAccess.Write(handle, zeros.AsSpan(0, (int)Math.Min(zeros.Length, length - at)), at);
                        // A megabyte at a time: one sync of a whole segment's zeros queued 64 MiB ahead of
                        // the commits' own syncs, and full-rate p99 spikes doubled (BENCHMARKS §2 (k)).
                        RandomAccess.FlushToDisk(handle);
                    }
                }
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("A deleted inbox log segment could not be overwritten yet ({Error}); the next start tries again", e.Message);
            }
        }
    }
}
