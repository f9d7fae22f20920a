// A WebSocket as the byte stream the secure channel runs over (PROTOCOL.md §4 frames, unchanged).
// Each binary message carries exactly one frame, u32 length and body, as on TCP: writes are split
// at frame boundaries (the channel may write several records at once), and reads hand the
// messages' bytes on in order, so the frame decoder's own limits still decide what is legal.
// A received message larger than the largest legal frame is refused before it is buffered past
// that bound (close 1009), a text message is refused (1003), and a close ends the stream.
using System.Buffers.Binary;
using System.Net.WebSockets;

namespace Parley.Transport.WebSockets;

public sealed class WebSocketFrameStream : Stream
{
    private const int InitialBuffer = 4096;
    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(2);

    private readonly WebSocket _socket;
    private readonly int _recordMessageLength;
    private int _maxMessageLength;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    // Bytes written that do not yet make a whole frame (only if a caller splits a frame across writes).
    private readonly MemoryStream _partialWrite = new();
    private byte[] _message = [];
    private int _offset;
    private int _count;
    private bool _ended;
    private int _disposed;

    /// <param name="maxMessageLength">The largest message accepted from the peer: 4 bytes of length plus the largest frame body legal on this connection.</param>
    /// <param name="handshakeFirst">
    /// A server's stream: until <see cref="RecordsBegin"/>, only a handshake frame is legal (§4:
    /// 4 KiB), so a peer that has not finished its handshake cannot make the server buffer a record's worth.
    /// </param>
    public WebSocketFrameStream(WebSocket socket, int maxMessageLength, bool handshakeFirst = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageLength, 5);
        _socket = socket;
        _recordMessageLength = maxMessageLength;
        _maxMessageLength = handshakeFirst ? Math.Min(maxMessageLength, 4 + Parley.Protocol.Framing.Frame.MaxHandshakeBodyLength) : maxMessageLength;
    }

    /// <summary>The handshake is done: from the next message on, a record's frame is legal.</summary>
    public void RecordsBegin() => _maxMessageLength = _recordMessageLength;

    /// <summary>The largest message for a record limit (PROTOCOL.md §4, §8): length field, type byte, plaintext and at most 64 bytes of AEAD expansion.</summary>
    public static int MaxMessageLengthFor(int maxPlaintextLength) => checked(4 + 1 + maxPlaintextLength + 64);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_count == 0)
        {
            if (_ended)
            {
                return 0;
            }
            await ReceiveMessageAsync(cancellationToken).ConfigureAwait(false);
        }
        int n = Math.Min(buffer.Length, _count);
        _message.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        _count -= n;
        if (_count == 0 && _message.Length > InitialBuffer)
        {
            // Do not keep a large record's buffer for an idle connection.
            _message = [];
        }
        return n;
    }

    private async Task ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        if (_message.Length == 0)
        {
            _message = new byte[InitialBuffer];
        }
        int length = 0;
        while (true)
        {
            if (length == _message.Length)
            {
                if (length >= _maxMessageLength)
                {
                    await CloseQuietlyAsync(WebSocketCloseStatus.MessageTooBig, $"a message is at most {_maxMessageLength} bytes (one frame)").ConfigureAwait(false);
                    throw new IOException($"the peer sent a WebSocket message over {_maxMessageLength} bytes, more than one frame");
                }
                Array.Resize(ref _message, Math.Min(_maxMessageLength, checked(_message.Length * 2)));
            }
            ValueWebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(_message.AsMemory(length), cancellationToken).ConfigureAwait(false);
            }
            catch (WebSocketException e)
            {
                throw new IOException("the WebSocket failed: " + e.Message, e);
            }
            if (result.MessageType == WebSocketMessageType.Close)
            {
                _ended = true;
                return;
            }
            if (result.MessageType != WebSocketMessageType.Binary)
            {
                await CloseQuietlyAsync(WebSocketCloseStatus.InvalidMessageType, "only binary messages carry frames").ConfigureAwait(false);
                throw new IOException("the peer sent a text WebSocket message; frames travel in binary messages");
            }
            length += result.Count;
            if (result.EndOfMessage)
            {
                _offset = 0;
                _count = length;
                return;
            }
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ReadOnlyMemory<byte> bytes = buffer;
            if (_partialWrite.Length > 0)
            {
                _partialWrite.Write(buffer.Span);
                bytes = _partialWrite.ToArray();
                _partialWrite.SetLength(0);
            }
            while (bytes.Length >= 4)
            {
                long frameLength = 4L + BinaryPrimitives.ReadUInt32BigEndian(bytes.Span);
                if (bytes.Length < frameLength)
                {
                    break;
                }
                await SendAsync(bytes[..(int)frameLength], cancellationToken).ConfigureAwait(false);
                bytes = bytes[(int)frameLength..];
            }
            _partialWrite.Write(bytes.Span);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException e)
        {
            throw new IOException("the WebSocket failed: " + e.Message, e);
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task CloseQuietlyAsync(WebSocketCloseStatus status, string reason)
    {
        if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }
        try
        {
            using CancellationTokenSource timeout = new(s_closeTimeout);
            await _socket.CloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Best effort: the connection ends either way.
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await CloseQuietlyAsync(WebSocketCloseStatus.NormalClosure, "").ConfigureAwait(false);
        _socket.Dispose();
        _sendLock.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            CloseQuietlyAsync(WebSocketCloseStatus.NormalClosure, "").GetAwaiter().GetResult();
            _socket.Dispose();
            _sendLock.Dispose();
        }
        base.Dispose(disposing);
    }
}
