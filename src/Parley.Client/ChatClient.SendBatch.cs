// Several sends in one write, for a sender that has several messages ready at once (the load
// generator, a queue flushed after a reconnect): one system call for all, and each with its own
// answer. In the compact form (PROTOCOL.md §11.9) they share records up to the server's record
// limit; in JSON each is a record, as SendMessageAsync would send it.
using System.Buffers;
using Parley.Messaging;
using Parley.Messaging.Compact;

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
        CheckBodyLengths(messages);
        long[] references = new long[messages.Count];
        TaskCompletionSource<ServerMessage>[] completions = new TaskCompletionSource<ServerMessage>[messages.Count];
        SendRequest[] requests = new SendRequest[messages.Count];
        try
        {
            for (int i = 0; i < messages.Count; i++)
            {
                references[i] = Interlocked.Increment(ref _nextRef);
                completions[i] = new TaskCompletionSource<ServerMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending[references[i]] = completions[i];
                requests[i] = new SendRequest(references[i], messages[i].To, messages[i].ContentType, messages[i].Body);
            }
            await WriteRequestsAsync(requests, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Sends <paramref name="messages"/> in order with one write, as the overload above, but with no
    /// task per message: each answer goes to <paramref name="answers"/>, exactly once per message.
    /// Returns, once they are written, the reference of the first message; the others follow it
    /// one by one (0 for an empty list, which writes nothing). If the write fails, every message
    /// not yet answered is reported <see cref="ISendAnswers.Lost"/> before the failure is thrown.
    /// </summary>
    /// <exception cref="MessageTooLargeException">A body is over <see cref="MaxBodyLength"/>; nothing was sent and nothing is reported.</exception>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<long> SendMessagesAsync(IReadOnlyList<OutgoingMessage> messages, ISendAnswers answers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(answers);
        int count = messages.Count;
        CheckBodyLengths(messages);
        if (count == 0)
        {
            // Nothing to write and nothing to answer; references are never 0.
            return 0;
        }
        // One block of references, so the batch's are consecutive whoever else sends meanwhile.
        long first = Interlocked.Add(ref _nextRef, count) - count + 1;
        SendRequest[] requests = new SendRequest[count];
        ChatConnectionException? ended;
        lock (_sendAnswers)
        {
            // Under the lock the read loop takes to lose every sink: registered before it, these are
            // lost with the rest; after it, none is registered and no answer can come.
            ended = _ended;
            for (int i = 0; ended is null && i < count; i++)
            {
                _sendAnswers.Add(first + i, answers);
            }
        }
        if (ended is not null)
        {
            for (int i = 0; i < count; i++)
            {
                answers.Lost(first + i, ended);
            }
            return first;
        }
        try
        {
            for (int i = 0; i < count; i++)
            {
                requests[i] = new SendRequest(first + i, messages[i].To, messages[i].ContentType, messages[i].Body);
            }
            await WriteRequestsAsync(requests, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LoseAnswers(first, count, new ChatConnectionException("the messages could not be sent: " + e.Message, e));
            throw;
        }
        return first;
    }

    /// <summary>The requests in one write: compact records when agreed, else a JSON record each.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteRequestsAsync(SendRequest[] requests, CancellationToken cancellationToken)
    {
        List<byte[]> pooled = [];
        await _channel.SendBatchAsync(CompactAgreed ? PackCompact(requests, pooled) : [.. requests.Select(r => (ReadOnlyMemory<byte>)MessengerCodec.Encode(r))],
            cancellationToken).ConfigureAwait(false);
        // Written, so sealed: the channel holds none of these any more. Only then do they go
        // back (a batch cancelled while queued may still be written later; a failure leaves
        // them to the collector), wiped, so no message's text waits in the pool.
        foreach (byte[] record in pooled)
        {
            ArrayPool<byte>.Shared.Return(record, clearArray: true);
        }
    }

    // An index, not foreach: the interface's enumerator is a boxed struct, one allocation per batch.
    private void CheckBodyLengths(IReadOnlyList<OutgoingMessage> messages)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            CheckBodyLength(messages[i].Body);
        }
    }

    /// <summary>Reports <see cref="ISendAnswers.Lost"/> for those of the block still waiting for an answer.</summary>
    private void LoseAnswers(long first, int count, ChatConnectionException error)
    {
        for (int i = 0; i < count; i++)
        {
            if (TakeSendAnswers(first + i) is ISendAnswers answers)
            {
                answers.Lost(first + i, error);
            }
        }
    }

    private ISendAnswers? TakeSendAnswers(long reference)
    {
        lock (_sendAnswers)
        {
            return _sendAnswers.Remove(reference, out ISendAnswers? answers) ? answers : null;
        }
    }

    /// <summary>Hands an answer to the sink its send registered; false when no sink waits for this reference.</summary>
    private bool TryAnswerSend(long reference, ServerMessage message)
    {
        if (message is not (SendResult or ErrorMessage) || TakeSendAnswers(reference) is not ISendAnswers answers)
        {
            return false;
        }
        if (message is SendResult result)
        {
            answers.Accepted(reference, result);
        }
        else
        {
            ErrorMessage error = (ErrorMessage)message;
            answers.Refused(reference, new ChatException(error.Code, error.Message));
        }
        return true;
    }

    /// <summary>Every send still waiting for an answer in a sink: the connection is gone.</summary>
    private void LoseAllSendAnswers(ChatConnectionException error)
    {
        KeyValuePair<long, ISendAnswers>[] waiting;
        lock (_sendAnswers)
        {
            waiting = [.. _sendAnswers];
            _sendAnswers.Clear();
        }
        foreach ((long reference, ISendAnswers answers) in waiting)
        {
            answers.Lost(reference, error);
        }
    }

    // The sinks of sends made with ISendAnswers, by reference: a plain dictionary under a lock takes
    // no allocation per message (a concurrent one takes a node for each).
    private readonly Dictionary<long, ISendAnswers> _sendAnswers = [];

    /// <summary>
    /// The sends in order, as many to a record as the server takes (its record limit, and at most
    /// <see cref="MessengerLimits.MaxCompactMessagesPerRecord"/>: it drops the rest of a record unanswered);
    /// a send without a compact form goes as JSON.
    /// </summary>
    /// <param name="pooled">Receives the records rented from the pool, for the caller to return once they are written.</param>
    private List<ReadOnlyMemory<byte>> PackCompact(SendRequest[] requests, List<byte[]> pooled)
    {
        // The server's limit for this body size, and never above what this channel itself seals.
        int limit = Math.Min(MessengerLimits.RecordLimitFor(MaxBodyLength), _channel.MaxMessageLength);
        List<ReadOnlyMemory<byte>> records = [];
        int start = 0;
        while (start < requests.Length)
        {
            int size = CompactWriter.SizeOf(requests[start]);
            if (size < 0 || size > limit)
            {
                records.Add(MessengerCodec.Encode(requests[start++]));
                continue;
            }
            int end = start + 1, total = size;
            while (end < requests.Length && end - start < MessengerLimits.MaxCompactMessagesPerRecord
                && CompactWriter.SizeOf(requests[end]) is var next and >= 0 && total + next <= limit)
            {
                total += next;
                end++;
            }
            // Pooled: a sender with messages ready all the time (the load generator) otherwise
            // allocated its records' size again for every batch (~600 B per message, BENCHMARKS §2 (q)).
            byte[] record = ArrayPool<byte>.Shared.Rent(total);
            pooled.Add(record);
            int at = 0;
            for (int i = start; i < end; i++)
            {
                at += CompactWriter.Write(requests[i], record.AsSpan(at, total - at));
            }
            records.Add(record.AsMemory(0, total));
            start = end;
        }
        return records;
    }

    private async Task<SendResult> AnswerToSendAsync(long reference, TaskCompletionSource<ServerMessage> completion)
    {
        try
        {
            ServerMessage reply = await AnswerOrEndAsync(completion, CancellationToken.None).ConfigureAwait(false);
            return reply is ErrorMessage error ? throw new ChatException(error.Code, error.Message) : (SendResult)reply;
        }
        finally
        {
            _pending.TryRemove(reference, out _);
        }
    }
}
