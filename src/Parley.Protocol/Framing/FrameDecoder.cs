namespace Parley.Protocol.Framing;

/// <summary>
/// Sans-IO frame splitter: the caller appends whatever bytes arrived, then takes complete frame
/// bodies out. The length is checked against <see cref="MaxBodyLength"/> as soon as the header
/// is complete, before the buffer grows for the body, so a hostile length costs nothing.
/// </summary>
public sealed class FrameDecoder
{
    private readonly int _initialCapacity;
    private byte[] _buffer;
    private int _start;
    private int _end;

    public FrameDecoder(int maxBodyLength = Frame.MaxHandshakeBodyLength, int initialCapacity = 4096)
    {
        MaxBodyLength = maxBodyLength;
        _initialCapacity = Math.Max(initialCapacity, Frame.HeaderSize);
        _buffer = new byte[_initialCapacity];
    }

    /// <summary>The largest body accepted; raised when the handshake ends.</summary>
    public int MaxBodyLength { get; set; }

    /// <summary>Bytes received but not yet returned as frames.</summary>
    public int BufferedLength => _end - _start;

    /// <summary>Room for at least <paramref name="sizeHint"/> more bytes; call <see cref="Advance"/> after filling it.</summary>
    public Memory<byte> GetBuffer(int sizeHint = 4096)
    {
        EnsureSpace(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_end);
    }

    /// <summary>Drops a buffer grown past its initial size, when nothing is buffered.</summary>
    public void TrimExcess()
    {
        if (BufferedLength == 0 && _buffer.Length > _initialCapacity)
        {
            _buffer = new byte[_initialCapacity];
            _start = _end = 0;
        }
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
    public bool TryReadFrame(out ReadOnlyMemory<byte> body)
    {
        body = default;
        if (BufferedLength < Frame.HeaderSize)
        {
            return false;
        }
        int length = Frame.ReadAndCheckLength(_buffer.AsSpan(_start, Frame.HeaderSize), MaxBodyLength);
        if (BufferedLength < Frame.HeaderSize + length)
        {
            // Make sure the whole frame will fit, now that the length is known to be allowed.
            EnsureCapacityForFrame(Frame.HeaderSize + length);
            return false;
        }
        body = _buffer.AsMemory(_start + Frame.HeaderSize, length);
        _start += Frame.HeaderSize + length;
        if (_start == _end)
        {
            _start = _end = 0;
        }
        return true;
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
        byte[] target = needed > _buffer.Length ? new byte[Math.Max(needed, _buffer.Length * 2)] : _buffer;
        Buffer.BlockCopy(_buffer, _start, target, 0, buffered);
        _buffer = target;
        _start = 0;
        _end = buffered;
    }
}
