using System.Buffers;
using System.Buffers.Binary;

namespace Parley.Protocol.Framing;

/// <summary>What <see cref="FrameDecoder.Read"/> found.</summary>
public enum FrameEvent
{
    /// <summary>Nothing complete yet: append more bytes.</summary>
    NeedMoreData,

    /// <summary>A complete frame body within the limit.</summary>
    Frame,

    /// <summary>
    /// A frame above the limit (but within the skipping limit) has been consumed and discarded
    /// without being buffered; <see cref="FrameDecoder.LastSkippedLength"/> is its length.
    /// </summary>
    OversizeFrameSkipped,
}

/// <summary>
/// Sans-IO frame splitter: the caller appends whatever bytes arrived, then takes complete frame
/// bodies out. The length is checked against <see cref="MaxBodyLength"/> as soon as the header
/// is complete, before the buffer grows for the body, so a hostile length costs nothing.
/// The buffer is rented from <see cref="ArrayPool{T}.Shared"/> when bytes are about to arrive
/// and given back by <see cref="ReleaseBuffer"/> when nothing is buffered: an idle connection
/// waiting for data holds no buffer at all.
/// </summary>
public sealed class FrameDecoder
{
    private readonly int _initialCapacity;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _maxSkippableBodyLength;
    private int _skipsLeft;
    private long _skipRemaining;

    public FrameDecoder(int maxBodyLength = Frame.MaxHandshakeBodyLength, int initialCapacity = 4096)
    {
        MaxBodyLength = maxBodyLength;
        _initialCapacity = Math.Max(initialCapacity, Frame.HeaderSize);
        _buffer = [];
    }

    /// <summary>The largest body accepted; raised when the handshake ends.</summary>
    public int MaxBodyLength { get; set; }

    /// <summary>Bytes received but not yet returned as frames.</summary>
    public int BufferedLength => _end - _start;

    /// <summary>Those bytes themselves (valid until the next call that changes this decoder): what a non-Parley peer sent, for diagnosis.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, BufferedLength);

    /// <summary>True in the middle of a frame (buffered or being skipped): an end of stream now is a truncation.</summary>
    public bool InsideFrame => BufferedLength != 0 || _skipRemaining != 0;

    /// <summary>
    /// True when the next <see cref="Read"/> can finish without another byte from the stream: a
    /// whole frame is buffered (whatever its length; <see cref="Read"/> still checks it).
    /// </summary>
    public bool HasCompleteFrame =>
        _skipRemaining == 0 && BufferedLength >= Frame.HeaderSize
        && (uint)BufferedLength - Frame.HeaderSize >= BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_start, Frame.HeaderSize));

    /// <summary>The body length of the frame most recently skipped.</summary>
    public int LastSkippedLength { get; private set; }

    /// <summary>
    /// From now on, up to <paramref name="maxSkippedFrames"/> frames longer than <see cref="MaxBodyLength"/>
    /// but at most <paramref name="maxSkippableBodyLength"/> are consumed and dropped as their
    /// bytes arrive, never buffered, and reported as <see cref="FrameEvent.OversizeFrameSkipped"/>.
    /// Beyond either bound a long frame is <c>frame_too_large</c>, as without skipping.
    /// </summary>
    public void AllowSkipping(int maxSkippableBodyLength, int maxSkippedFrames)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSkippedFrames);
        _maxSkippableBodyLength = maxSkippableBodyLength;
        _skipsLeft = maxSkippedFrames;
    }

    /// <summary>Room for at least <paramref name="sizeHint"/> more bytes; call <see cref="Advance"/> after filling it.</summary>
    public Memory<byte> GetBuffer(int sizeHint = 4096)
    {
        EnsureSpace(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_end);
    }

    /// <summary>True while the decoder holds a (rented) buffer; false after <see cref="ReleaseBuffer"/> until more bytes are expected.</summary>
    public bool HoldsBuffer => _buffer.Length != 0;

    /// <summary>
    /// Gives the buffer back to the pool (cleared) when nothing is buffered, whatever a burst grew
    /// it to; the next <see cref="GetBuffer"/> rents one again. Memory returned by an earlier
    /// <see cref="Read"/> is no longer valid after this.
    /// </summary>
    public void ReleaseBuffer()
    {
        if (BufferedLength != 0 || _buffer.Length == 0)
        {
            return;
        }
        byte[] released = _buffer;
        _buffer = [];
        _start = _end = 0;
        Return(released);
    }

    private static void Return(byte[] buffer)
    {
        // What passed through is ciphertext or handshake messages; cleared anyway before another user gets it.
        buffer.AsSpan().Clear();
        ArrayPool<byte>.Shared.Return(buffer);
    }

    public void Advance(int count)
    {
        if (count < 0 || _end + count > _buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
        _end += count;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        data.CopyTo(GetBuffer(data.Length).Span);
        Advance(data.Length);
    }

    /// <summary>
    /// Takes the next complete frame body. The returned memory is valid until the next call that
    /// changes this decoder. Throws <see cref="ParleyProtocolException"/> for a bad length.
    /// </summary>
    public bool TryReadFrame(out ReadOnlyMemory<byte> body) => Read(out body) switch
    {
        FrameEvent.Frame => true,
        FrameEvent.NeedMoreData => false,
        _ => throw new InvalidOperationException($"A frame was skipped; a decoder that allows skipping is read with {nameof(Read)}."),
    };

    /// <summary>
    /// Takes the next complete frame body, or reports a skipped oversize frame. The returned memory
    /// is valid until the next call that changes this decoder. Throws <see cref="ParleyProtocolException"/>
    /// for a bad length.
    /// </summary>
    public FrameEvent Read(out ReadOnlyMemory<byte> body)
    {
        body = default;
        if (_skipRemaining != 0)
        {
            return DiscardSkipped();
        }
        if (BufferedLength < Frame.HeaderSize)
        {
            return FrameEvent.NeedMoreData;
        }
        if (ShouldSkip(BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_start, Frame.HeaderSize)), out uint skipped))
        {
            _skipsLeft--;
            _start += Frame.HeaderSize;
            _skipRemaining = skipped;
            LastSkippedLength = (int)skipped;
            return DiscardSkipped();
        }
        int length = Frame.ReadAndCheckLength(_buffer.AsSpan(_start, Frame.HeaderSize), MaxBodyLength);
        if (BufferedLength < Frame.HeaderSize + length)
        {
            // Make sure the whole frame will fit, now that the length is known to be allowed.
            EnsureCapacityForFrame(Frame.HeaderSize + length);
            return FrameEvent.NeedMoreData;
        }
        body = _buffer.AsMemory(_start + Frame.HeaderSize, length);
        _start += Frame.HeaderSize + length;
        ResetIfEmpty();
        return FrameEvent.Frame;
    }

    private bool ShouldSkip(uint length, out uint skipped)
    {
        skipped = length;
        return length > (uint)MaxBodyLength && length <= (uint)_maxSkippableBodyLength && _skipsLeft > 0;
    }

    private FrameEvent DiscardSkipped()
    {
        int drop = (int)Math.Min(_skipRemaining, BufferedLength);
        _start += drop;
        _skipRemaining -= drop;
        ResetIfEmpty();
        return _skipRemaining == 0 ? FrameEvent.OversizeFrameSkipped : FrameEvent.NeedMoreData;
    }

    private void ResetIfEmpty()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    private void EnsureCapacityForFrame(int frameLength)
    {
        if (_buffer.Length - _start < frameLength)
        {
            Compact(frameLength);
        }
    }

    private void EnsureSpace(int sizeHint)
    {
        if (_buffer.Length - _end >= sizeHint)
        {
            return;
        }
        Compact(BufferedLength + sizeHint);
    }

    private void Compact(int needed)
    {
        int buffered = BufferedLength;
        byte[] target = needed > _buffer.Length
            ? ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(_initialCapacity, _buffer.Length * 2)))
            : _buffer;
        Buffer.BlockCopy(_buffer, _start, target, 0, buffered);
        if (target != _buffer && _buffer.Length != 0)
        {
            Return(_buffer);
        }
        _buffer = target;
        _start = 0;
        _end = buffered;
    }
}
