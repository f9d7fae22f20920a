using System.Threading.Channels;

namespace Parley.Tests.Support;

/// <summary>
/// Two connected in-memory streams, as a transport other than TCP hands the server one end (a
/// WebSocket will): bytes written to one are read from the other, and disposing one ends the
/// other's reads, as a closed connection does.
/// </summary>
public static class DuplexPipe
{
    public static (Stream Client, Stream Server) Create()
    {
        Channel<byte[]> toServer = Channel.CreateUnbounded<byte[]>();
        Channel<byte[]> toClient = Channel.CreateUnbounded<byte[]>();
        return (new End(toClient.Reader, toServer.Writer), new End(toServer.Reader, toClient.Writer));
    }

    private sealed class End(ChannelReader<byte[]> incoming, ChannelWriter<byte[]> outgoing) : Stream
    {
        private byte[] _pending = [];
        private int _offset;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_offset == _pending.Length)
            {
                if (!await incoming.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return 0;
                }
                if (incoming.TryRead(out byte[]? next))
                {
                    _pending = next;
                    _offset = 0;
                }
            }
            int count = Math.Min(buffer.Length, _pending.Length - _offset);
            _pending.AsMemory(_offset, count).CopyTo(buffer);
            _offset += count;
            return count;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!outgoing.TryWrite(buffer.ToArray()))
            {
                throw new IOException("the other end is closed");
            }
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            outgoing.TryComplete();
            base.Dispose(disposing);
        }
    }
}
