using System.Buffers;
using Parley.Messaging;
using Parley.Messaging.Compact;

namespace Parley.Server.Delivery;

/// <summary>
/// Puts the messages and send results of a compact connection (PROTOCOL.md §11.9) several to a
/// record, in order, each record at most the record limit: one seal, one header and one open per
/// record instead of per message.
/// </summary>
/// <remarks>
/// The record is built in a pooled buffer and joins the batch as an exact copy: a batch can be left
/// queued in the channel after its sender gave up, so nothing in it may go back to a pool. The
/// buffer is held only between <see cref="TryAdd"/> and <see cref="Close"/>, never across an await,
/// so an idle connection holds none.
/// </remarks>
internal sealed class CompactRecordPacker(int recordLimit)
{
    private byte[]? _record;
    private int _length;

    /// <summary>Adds <paramref name="message"/> to the open record; false when it has no compact form (close, then send it as JSON).</summary>
    /// <returns>Whether it was added; <paramref name="encodedBytes"/> grows by its size.</returns>
    public bool TryAdd(ServerMessage message, List<ReadOnlyMemory<byte>> batch, ref int encodedBytes)
    {
        int size = CompactWriter.SizeOf(message);
        if (size < 0 || size > recordLimit)
        {
            return false;
        }
        if (_record is not null && _length + size > recordLimit)
        {
            Close(batch);
        }
        _record ??= ArrayPool<byte>.Shared.Rent(recordLimit);
        _length += CompactWriter.Write(message, _record.AsSpan(_length));
        encodedBytes += size;
        return true;
    }

    /// <summary>Ends the open record, if any: it joins <paramref name="batch"/>, and the buffer goes back cleared (it held bodies).</summary>
    public void Close(List<ReadOnlyMemory<byte>> batch)
    {
        if (_record is not { } record)
        {
            return;
        }
        batch.Add(record.AsSpan(0, _length).ToArray());
        record.AsSpan(0, _length).Clear();
        ArrayPool<byte>.Shared.Return(record);
        _record = null;
        _length = 0;
    }
}
