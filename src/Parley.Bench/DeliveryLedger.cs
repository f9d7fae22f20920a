// Which (sender, sequence) pairs have arrived, to prove exactly-once delivery. A sender numbers its
// messages 0, 1, 2 … so each sender's arrivals are a dense bit set: one bit per message, set with
// an atomic OR (whose old value says "duplicate"), in chunks allocated as the sequence grows. No
// lock and no allocation per message (the dictionary this replaces took a node and a lock for each).
namespace Parley.Bench;

internal sealed class DeliveryLedger(int senders)
{
    private const int ChunkBits = 1 << 16;
    private const int WordsPerChunk = ChunkBits / 64;

    private readonly SenderBits?[] _senders = new SenderBits?[senders];

    /// <summary>Marks the message arrived; false when it had arrived before (a duplicate).</summary>
    public bool TryMark(int sender, uint sequence)
    {
        if ((uint)sender >= (uint)_senders.Length)
        {
            return false;
        }
        SenderBits bits = Volatile.Read(ref _senders[sender]) ?? CreateSender(sender);
        long[] chunk = bits.Chunk((int)(sequence / ChunkBits));
        long mask = 1L << (int)(sequence % 64);
        return (Interlocked.Or(ref chunk[sequence % ChunkBits / 64], mask) & mask) == 0;
    }

    private SenderBits CreateSender(int sender)
    {
        Interlocked.CompareExchange(ref _senders[sender], new SenderBits(), null);
        return _senders[sender]!;
    }

    private sealed class SenderBits
    {
        private readonly Lock _grow = new();
        private long[]?[] _chunks = new long[]?[4];

        public long[] Chunk(int index)
        {
            long[]?[] chunks = Volatile.Read(ref _chunks);
            if (index < chunks.Length && Volatile.Read(ref chunks[index]) is long[] chunk)
            {
                return chunk;
            }
            lock (_grow)
            {
                if (index >= _chunks.Length)
                {
                    long[]?[] larger = new long[]?[Math.Max(index + 1, _chunks.Length * 2)];
                    Array.Copy(_chunks, larger, _chunks.Length);
                    Volatile.Write(ref _chunks, larger);
                }
                if (_chunks[index] is not long[] existing)
                {
                    existing = new long[WordsPerChunk];
                    Volatile.Write(ref _chunks[index], existing);
                }
                return existing;
            }
        }
    }
}
