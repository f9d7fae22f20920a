using Parley.Messaging;

namespace Parley.Client;

/// <summary>
/// Where the answers to <see cref="ChatClient.SendMessagesAsync(IReadOnlyList{OutgoingMessage}, ISendAnswers, CancellationToken)"/>
/// go: exactly one call per message, by the reference the send was given. A sender that keeps
/// many messages in flight (the load generator) gets its answers without a task, a completion
/// source and a thread-pool hop per message.
/// </summary>
/// <remarks>
/// The calls come on the client's read loop, which reads everything else too: each must be quick,
/// must not block and must not throw (an exception ends the read loop, and with it the
/// connection). An answer can come before the send call has returned.
/// </remarks>
public interface ISendAnswers
{
    /// <summary>The server stored the message for its recipient.</summary>
    void Accepted(long reference, SendResult result);

    /// <summary>The server refused the message (<see cref="ChatException.Code"/> says why); nothing was stored.</summary>
    void Refused(long reference, ChatException refusal);

    /// <summary>
    /// No answer will come: the write failed or the connection ended first. Whether the server
    /// stored the message is unknown, as for a <see cref="ChatConnectionException"/> from a single send.
    /// </summary>
    void Lost(long reference, ChatConnectionException error);
}
