// Opening the log: every segment is read in order and its frames applied to the index, as the
// commits that wrote them did. A crash can leave only one kind of damage, a torn last frame (the
// commit never returned, so nobody was told it happened): it is cut off. Any other damage, or a
// valid frame found after a damaged one, means the disk lost something that was acknowledged, and
// the server refuses to start rather than quietly serve what is left.
using Microsoft.Extensions.Logging;

namespace Parley.Server.Storage.Inbox;

internal sealed partial class InboxLog
{
    private void Replay()
    {
        // A segment being created when the process stopped never held a frame.
        foreach (string unfinished in Directory.GetFiles(_directory, "*.log.tmp"))
        {
            File.Delete(unfinished);
        }
        // A deletion the process did not finish: every rename is synced before the next, so what
        // is still *.log is exactly what the deletion had not reached yet.
        Shred(Directory.GetFiles(_directory, "*.log.dead"), _logger);
        List<(int Number, string Path)> files = [];
        foreach (string path in Directory.GetFiles(_directory, "*.log"))
        {
            files.Add((SegmentNumber(path), path));
        }
        files.Sort((a, b) => a.Number.CompareTo(b.Number));
        // Only the newest segment holding frames can end in a torn write; a newer one holding only
        // its header (started when writes to the one before were failing) changes nothing.
        int lastWithFrames = files.FindLastIndex(f => new FileInfo(f.Path).Length > InboxLogFrame.SegmentHeaderBytes);
        for (int i = 0; i < files.Count; i++)
        {
            InboxLogSegment segment = InboxLogSegment.Open(files[i].Path, files[i].Number);
            _segments.Add(segment);
            _segmentsByNumber.Add(segment.Number, segment);
            ReplaySegment(segment, last: i >= lastWithFrames);
        }
        if (_segments.Count == 0)
        {
            StartSegment();
        }
        // The database's head is the higher where the segments that held later ids are gone.
        foreach (RecipientInbox inbox in _inboxes.Values)
        {
            MergeStoredHead(inbox);
        }
    }

    private static int SegmentNumber(string path)
    {
        if (!int.TryParse(Path.GetFileNameWithoutExtension(path), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number) || number <= 0)
        {
            throw new InvalidDataException($"{path} is in the inbox log's directory but is not named as a segment");
        }
        return number;
    }

    private void ReplaySegment(InboxLogSegment segment, bool last)
    {
        long fileLength = RandomAccess.GetLength(segment.Handle);
        long at = InboxLogFrame.SegmentHeaderBytes;
        byte[] header = new byte[InboxLogFrame.HeaderBytes];
        byte[] payload = [];
        while (at < fileLength)
        {
            int payloadBytes = -1;
            if (fileLength - at >= InboxLogFrame.HeaderBytes)
            {
                ReadExactly(segment, header, at);
                payloadBytes = InboxLogFrame.ClaimedPayload(header);
            }
            bool whole = payloadBytes > 0 && at + InboxLogFrame.FrameBytes(payloadBytes) <= fileLength;
            if (whole)
            {
                if (payload.Length < payloadBytes)
                {
                    payload = new byte[Math.Max(payloadBytes, Math.Min(2 * payload.Length, InboxLogFrame.MaxPayloadBytes))];
                }
                ReadExactly(segment, payload.AsSpan(0, payloadBytes), at + InboxLogFrame.HeaderBytes);
                whole = InboxLogFrame.Verify(header, payload.AsSpan(0, payloadBytes), segment.Key);
            }
            if (!whole)
            {
                CutTornTail(segment, at, fileLength, last);
                return;
            }
            ApplyFrame(segment, payload.AsSpan(0, payloadBytes), at + InboxLogFrame.HeaderBytes);
            at += InboxLogFrame.FrameBytes(payloadBytes);
        }
        segment.Length = at;
    }

    /// <summary>A damaged frame at <paramref name="at"/>: a torn last write is cut off; anything else stops the open.</summary>
    private void CutTornTail(InboxLogSegment segment, long at, long fileLength, bool last)
    {
        if (!last)
        {
            throw new InvalidDataException($"{segment.Path} is damaged at offset {at}, and it is not the newest segment: " +
                "acknowledged messages may be lost. Restore the data directory from a backup, or move the inbox log aside to start without its messages.");
        }
        long valid = FindValidFrameAfter(segment, at, fileLength);
        if (valid >= 0)
        {
            throw new InvalidDataException($"{segment.Path} is damaged at offset {at}, and a whole frame follows at {valid}: " +
                "this is not a torn last write, and acknowledged messages may be lost. Restore the data directory from a backup, or move the inbox log aside to start without its messages.");
        }
        _logger.LogWarning("The inbox log's last write was torn by a crash: {Bytes} bytes at the end of {Segment} cut off (that commit was never acknowledged)",
            fileLength - at, Path.GetFileName(segment.Path));
        segment.Truncate(at);
    }

    /// <summary>Bytes the search past damage may hash before it gives up (a second or so).</summary>
    private const long MaxSearchBytes = 4L * 1024 * 1024 * 1024;

    /// <summary>
    /// The offset of a whole, verified frame after <paramref name="damaged"/>, or -1. Bodies are
    /// what users sent, so they may be full of lengths that look plausible: the bytes hashed are
    /// bounded, and a search that runs out of them stops the open as damage rather than guess.
    /// </summary>
    private static long FindValidFrameAfter(InboxLogSegment segment, long damaged, long fileLength)
    {
        byte[] rest = new byte[fileLength - damaged];
        ReadExactly(segment, rest, damaged);
        long hashed = 0;
        for (int at = InboxLogFrame.Alignment; at + InboxLogFrame.HeaderBytes <= rest.Length; at += InboxLogFrame.Alignment)
        {
            ReadOnlySpan<byte> header = rest.AsSpan(at, InboxLogFrame.HeaderBytes);
            int payloadBytes = InboxLogFrame.ClaimedPayload(header);
            if (payloadBytes <= 0 || (long)at + InboxLogFrame.FrameBytes(payloadBytes) > rest.Length)
            {
                continue;
            }
            hashed += payloadBytes;
            if (hashed > MaxSearchBytes)
            {
                throw new InvalidDataException($"{segment.Path} is damaged at offset {damaged}, and what follows could not be told apart from a torn write " +
                    "within the search's bound. Restore the data directory from a backup, or move the inbox log aside to start without its messages.");
            }
            if (InboxLogFrame.Verify(header, rest.AsSpan(at + InboxLogFrame.HeaderBytes, payloadBytes), segment.Key))
            {
                return damaged + at;
            }
        }
        return -1;
    }

    private void ApplyFrame(InboxLogSegment segment, ReadOnlySpan<byte> payload, long payloadStart)
    {
        int at = 0;
        lock (_gate)
        {
            while (at < payload.Length)
            {
                InboxLogEntryKind kind;
                int length;
                InboxLogEntry.MessageEntry message;
                InboxLogRemoval removal;
                try
                {
                    kind = InboxLogEntry.Parse(payload[at..], out length, out message, out removal);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"{segment.Path} holds a frame at {payloadStart - InboxLogFrame.HeaderBytes} that verifies but does not parse: {e.Message}", e);
                }
                if (kind == InboxLogEntryKind.Message)
                {
                    Index(message.Recipient, message.Id, message.Timestamp, message.RecipientDevice, message.BodyLength,
                        new EntryPlace(segment.Number, checked((int)(payloadStart + at)), length));
                }
                else if (_inboxes.TryGetValue(removal.Recipient, out RecipientInbox? inbox))
                {
                    Unindex(inbox, removal.Id);
                }
                at += length;
            }
        }
    }

    /// <summary>
    /// Takes in messages an earlier version kept in the database, with the ids they have. A message
    /// the log already holds (an import interrupted before the database let go of them) is not taken twice.
    /// </summary>
    public void Import(IReadOnlyList<StoredMessage> messages)
    {
        lock (_writer)
        {
            ImportAsWriter(messages);
        }
    }

    private void ImportAsWriter(IReadOnlyList<StoredMessage> rows)
    {
        // A row whose id the log holds live is not taken: after a crash mid-import it is the same
        // message; after an older version ran on this data, another message given the same id.
        List<StoredMessage> messages;
        lock (_gate)
        {
            messages = [.. rows.Where(m => !(_inboxes.TryGetValue(m.Recipient, out RecipientInbox? inbox) && inbox.TryGet(m.Id, out _)))];
        }
        if (messages.Count < rows.Count)
        {
            _logger.LogWarning("{Count} messages in the database's old messages table have ids the inbox log already holds; they were not taken in again", rows.Count - messages.Count);
        }
        int next = 0;
        while (next < messages.Count)
        {
            _frame.ResetWrittenCount();
            _frame.Advance(InboxLogFrame.HeaderBytes);
            int first = next;
            _messageEntries.Clear();
            while (next < messages.Count && (next == first || _frame.WrittenCount < CompactionFrameBytes))
            {
                StoredMessage m = messages[next];
                int offset = _frame.WrittenCount - InboxLogFrame.HeaderBytes;
                _messageEntries.Add((offset, InboxLogEntry.WriteMessage(_frame,
                    new NewMessage(m.Sender, m.Recipient, m.Timestamp, m.ContentType, m.Body, m.Broadcast, m.RecipientDevice, m.SenderDevice), m.Id)));
                next++;
            }
            (InboxLogSegment segment, long payloadStart) = AppendFrame();
            lock (_gate)
            {
                for (int i = first; i < next; i++)
                {
                    StoredMessage m = messages[i];
                    (int offset, int length) = _messageEntries[i - first];
                    Index(m.Recipient, m.Id, m.Timestamp, m.RecipientDevice, m.Body.Length, new EntryPlace(segment.Number, checked((int)(payloadStart + offset)), length));
                }
            }
            // An imported recipient's next id must be above what the database's head says too.
            foreach (string recipient in messages.Skip(first).Take(next - first).Select(m => m.Recipient).Distinct(StringComparer.Ordinal))
            {
                MergeStoredHead(_inboxes[recipient]);
            }
            AfterAppend();
        }
    }
}
