namespace Parley.Transport.Channels;

/// <summary>
/// The channel's connection failed underneath it: the stream broke or was reset, the peer vanished
/// in the middle of a record, or the channel was used after it was closed or disposed. The cause is
/// <see cref="Exception.InnerException"/>.
/// </summary>
/// <remarks>
/// Derives from <see cref="IOException"/> rather than from <see cref="Parley.Protocol.ParleyProtocolException"/>:
/// it is a failure of the connection, not a protocol error with a wire code, and code that already
/// catches <see cref="IOException"/> keeps working unchanged. A protocol error the peer or this side
/// detected stays a ParleyProtocolException (with its <c>Error</c>); the caller's own cancellation stays an
/// <see cref="OperationCanceledException"/>. So a caller that handles a lost connection writes
/// <c>catch (Exception e) when (e is ChannelException or ParleyProtocolException)</c>.
/// </remarks>
public sealed class ChannelException : IOException
{
    public ChannelException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>
    /// Wraps what the stream or a disposed channel threw; null for what passes through unchanged
    /// (protocol errors, the caller's own cancellation, an exception already wrapped).
    /// </summary>
    internal static ChannelException? Wrap(Exception e, string operation, CancellationToken callerToken) => e switch
    {
        ChannelException => null,
        OperationCanceledException when callerToken.IsCancellationRequested => null,
        ObjectDisposedException => new ChannelException($"the channel was disposed while {operation}", e),
        IOException or InvalidOperationException or OperationCanceledException or NotSupportedException =>
            new ChannelException($"the connection failed while {operation}: {e.Message}", e),
        _ => null,
    };
}
