// Several sends in one write, for a sender that has several messages ready at once (the load
// generator, a queue flushed after a reconnect): one record each, as SendMessageAsync would send
// them, but one system call for all, and each with its own answer.
using Parley.Messaging;

namespace Parley.Client;

/// <summary>A message for <see cref="ChatClient.SendMessagesAsync"/>.</summary>
public readonly record struct OutgoingMessage(string To, string ContentType, byte[] Body);

public sealed partial class ChatClient
{
    /// <summary>
    /// Sends <paramref name="messages"/> in order with one write. Returns once they are written (each
    /// body is encoded by then, so the caller may reuse its buffers), with a task per message that
    /// completes with the server's answer, or fails with its refusal as <see cref="SendMessageAsync"/> does.
    /// </summary>
    /// <exception cref="MessageTooLargeException">A body is over <see cref="MaxBodyLength"/>; nothing was sent.</exception>
    public async Task<Task<SendResult>[]> SendMessagesAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        foreach (OutgoingMessage message in messages)
        {
            CheckBodyLength(message.Body);
        }
        long[] references = new long[messages.Count];
        TaskCompletionSource<ServerMessage>[] completions = new TaskCompletionSource<ServerMessage>[messages.Count];
        ReadOnlyMemory<byte>[] payloads = new ReadOnlyMemory<byte>[messages.Count];
        try
        {
            for (int i = 0; i < messages.Count; i++)
            {
                references[i] = Interlocked.Increment(ref _nextRef);
                completions[i] = new TaskCompletionSource<ServerMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending[references[i]] = completions[i];
                payloads[i] = MessengerCodec.Encode(new SendRequest(references[i], messages[i].To, messages[i].ContentType, messages[i].Body));
            }
            await _channel.SendBatchAsync(payloads, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // References are never 0: the ones not taken yet have nothing registered.
            foreach (long reference in references)
            {
                _pending.TryRemove(reference, out _);
            }
            throw;
        }
        Task<SendResult>[] answers = new Task<SendResult>[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            answers[i] = AnswerToSendAsync(references[i], completions[i]);
        }
        return answers;
    }

    private async Task<SendResult> AnswerToSendAsync(long reference, TaskCompletionSource<ServerMessage> completion)
    {
        try
        {
            ServerMessage reply = await completion.Task.ConfigureAwait(false);
            return reply is ErrorMessage error ? throw new ChatException(error.Code, error.Message) : (SendResult)reply;
        }
        finally
        {
            _pending.TryRemove(reference, out _);
        }
    }
}
