using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Parley.Messaging;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Messenger;

/// <summary>
/// A seeded random run of send, ack, dropped connections, reconnects and server restarts against
/// a real server (port 0, real SQLite file), checked against a simple oracle: every acknowledged
/// send reaches its recipient exactly once (counting by message id, as a client does), in order
/// for each sender and recipient, across restarts, and never again once its ack was committed.
/// </summary>
public class DeliveryModelTests
{
    private const int Seed = 20261122;
    private const int Steps = 160;
    private static readonly string[] s_users = ["ann", "bea", "cid"];

    [Fact]
    public async Task Random_sends_acks_drops_and_restarts_lose_and_repeat_nothing()
    {
        try
        {
            await RunAsync(Seed);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"delivery model failed with seed {Seed}: {e.Message}\n{e}");
        }
    }

    private static async Task RunAsync(int seed)
    {
        Random random = new(seed);
        await using TestServer server = await TestServer.StartAsync();
        Model model = new();
        Dictionary<string, Connection?> connections = s_users.ToDictionary(u => u, _ => (Connection?)null);
        try
        {
            // Logging in registers: everyone exists before the first send.
            foreach (string name in s_users)
            {
                connections[name] = await Connection.OpenAsync(server, name, model);
            }
            for (int step = 0; step < Steps; step++)
            {
                string user = s_users[random.Next(s_users.Length)];
                int roll = random.Next(100);
                if (connections[user] is not { IsOpen: true })
                {
                    await Close(connections, user);
                    connections[user] = await Connection.OpenAsync(server, user, model);
                }
                else if (roll < 55)
                {
                    string to = s_users.Where(u => u != user).ElementAt(random.Next(s_users.Length - 1));
                    await connections[user]!.SendAsync(to, model);
                }
                else if (roll < 75)
                {
                    await connections[user]!.AckAsync(confirm: random.Next(2) == 0, model);
                }
                else if (roll < 92)
                {
                    await Close(connections, user);
                }
                else
                {
                    foreach (string name in s_users)
                    {
                        await Close(connections, name);
                    }
                    await server.RestartAsync();
                }
                model.ThrowIfViolated();
            }

            // Everyone comes back, receives the whole backlog and commits an ack for it.
            foreach (string name in s_users)
            {
                await Close(connections, name);
                connections[name] = await Connection.OpenAsync(server, name, model);
            }
            foreach (string name in s_users)
            {
                await model.WaitUntilAllReceivedAsync(name);
                await connections[name]!.AckAsync(confirm: true, model);
            }
            // After a restart nothing acknowledged comes back: a fresh message from each sender
            // arrives, and per-pair order means anything older would have come first.
            foreach (string name in s_users)
            {
                await Close(connections, name);
            }
            await server.RestartAsync();
            foreach (string name in s_users)
            {
                connections[name] = await Connection.OpenAsync(server, name, model);
            }
            foreach (string from in s_users)
            {
                foreach (string to in s_users.Where(u => u != from))
                {
                    await connections[from]!.SendAsync(to, model);
                }
            }
            foreach (string name in s_users)
            {
                await model.WaitUntilAllReceivedAsync(name);
            }
            model.ThrowIfViolated();
            Assert.True(model.AcknowledgedSends > 20, $"only {model.AcknowledgedSends} sends were acknowledged; the run tests too little");
        }
        finally
        {
            foreach (string name in s_users)
            {
                await Close(connections, name);
            }
        }
    }

    private static async Task Close(Dictionary<string, Connection?> connections, string user)
    {
        if (connections[user] is Connection connection)
        {
            await connection.DisposeAsync();
            connections[user] = null;
        }
    }

    /// <summary>The oracle: what was acknowledged to senders, what recipients saw, and every violation.</summary>
    private sealed class Model
    {
        private readonly object _lock = new();
        // Keyed by recipient and id: ids are per recipient inbox (PROTOCOL.md §11.3), not global.
        private readonly Dictionary<(string To, long Id), (string From, string To, string Body)> _sent = [];
        private readonly Dictionary<string, HashSet<long>> _received = [];
        private readonly Dictionary<string, HashSet<long>> _committedAcks = [];
        private readonly Dictionary<(string From, string To), long> _lastInPair = [];
        private readonly ConcurrentQueue<string> _violations = new();
        private readonly Dictionary<string, TaskCompletionSource> _caughtUp = [];
        private int _sequence;

        public int AcknowledgedSends
        {
            get
            {
                lock (_lock)
                {
                    return _sent.Count;
                }
            }
        }

        public string NextBody(string from, string to) => $"{from}>{to}#{Interlocked.Increment(ref _sequence)}";

        public void Acknowledged(long id, string from, string to, string body)
        {
            lock (_lock)
            {
                if (!_sent.TryAdd((to, id), (from, to, body)))
                {
                    _violations.Enqueue($"message id {id} of {to} acknowledged twice");
                }
                NotifyLocked(to);
            }
        }

        /// <summary>Checks one arriving message; a repeat of an unacknowledged one is dropped by id, as a client does.</summary>
        public void Received(string user, ChatMessage message)
        {
            lock (_lock)
            {
                HashSet<long> seen = Get(_received, user);
                if (Get(_committedAcks, user).Contains(message.MessageId))
                {
                    _violations.Enqueue($"{user} got message {message.MessageId} again after its ack was committed");
                }
                if (!seen.Add(message.MessageId))
                {
                    return; // a redelivery of an unacknowledged message: allowed, dropped by id
                }
                string body = Encoding.UTF8.GetString(message.Body);
                // The reply to the sender may still be on its way, so the body carries who and what.
                string[] parts = body.Split('>', '#');
                if (parts.Length != 3 || parts[0] != message.From || parts[1] != user || message.To != user)
                {
                    _violations.Enqueue($"{user} got message {message.MessageId} '{body}' from {message.From} to {message.To}, which nobody sent to {user}");
                    return;
                }
                if (_sent.TryGetValue((user, message.MessageId), out (string From, string To, string Body) sent) && sent.Body != body)
                {
                    _violations.Enqueue($"message {message.MessageId} arrived as '{body}' but was sent as '{sent.Body}'");
                }
                (string, string) pair = (message.From, user);
                if (_lastInPair.TryGetValue(pair, out long last) && message.MessageId < last)
                {
                    _violations.Enqueue($"{message.From}→{user}: message {message.MessageId} arrived after {last}");
                }
                _lastInPair[pair] = Math.Max(last, message.MessageId);
                NotifyLocked(user);
            }
        }

        public long[] ReceivedIds(string user)
        {
            lock (_lock)
            {
                return [.. Get(_received, user)];
            }
        }

        /// <summary>The server committed these acks (a later send on the same connection was answered).</summary>
        public void AcksCommitted(string user, long[] ids)
        {
            lock (_lock)
            {
                Get(_committedAcks, user).UnionWith(ids);
            }
        }

        public async Task WaitUntilAllReceivedAsync(string user)
        {
            Task waiting;
            lock (_lock)
            {
                if (Missing(user).Count == 0)
                {
                    return;
                }
                TaskCompletionSource caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
                _caughtUp[user] = caughtUp;
                waiting = caughtUp.Task;
            }
            try
            {
                await waiting.WaitAsync(TestTimeouts.Event);
            }
            catch (TimeoutException)
            {
                lock (_lock)
                {
                    throw new InvalidOperationException($"{user} never received acknowledged messages {string.Join(", ", Missing(user))}");
                }
            }
        }

        public void ThrowIfViolated()
        {
            if (!_violations.IsEmpty)
            {
                throw new InvalidOperationException(string.Join("\n", _violations));
            }
        }

        private List<long> Missing(string user) =>
            [.. _sent.Where(s => s.Value.To == user && !Get(_received, user).Contains(s.Key.Id)).Select(s => s.Key.Id).Order()];

        private void NotifyLocked(string user)
        {
            if (_caughtUp.TryGetValue(user, out TaskCompletionSource? caughtUp) && Missing(user).Count == 0)
            {
                caughtUp.TrySetResult();
                _caughtUp.Remove(user);
            }
        }

        private static HashSet<long> Get(Dictionary<string, HashSet<long>> sets, string user)
        {
            if (!sets.TryGetValue(user, out HashSet<long>? set))
            {
                set = [];
                sets[user] = set;
            }
            return set;
        }
    }

    /// <summary>One logged-in connection that reads everything, so no reply or message is skipped.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        private readonly SecureChannel _channel;
        private readonly TcpClient _tcp;
        private readonly string _user;
        private readonly Model _model;
        private readonly ConcurrentDictionary<long, TaskCompletionSource<ServerMessage>> _pending = new();
        private readonly Task _reader;
        private long[] _unconfirmedAcks = [];
        private long _nextRef;
        private volatile bool _open = true;

        private Connection(TcpClient tcp, SecureChannel channel, string user, Model model)
        {
            _tcp = tcp;
            _channel = channel;
            _user = user;
            _model = model;
            _reader = Task.Run(ReadLoopAsync);
        }

        public bool IsOpen => _open;

        public static async Task<Connection> OpenAsync(TestServer server, string user, Model model)
        {
            TcpClient tcp = new();
            await tcp.ConnectAsync("127.0.0.1", server.Port).WithTimeout();
            SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
            await channel.SendAsync(MessengerCodec.Encode(new LoginRequest(user, "correct horse", null)));
            byte[] payload = await channel.ReceiveAsync().AsTask().WithTimeout() ?? throw new InvalidOperationException($"{user}: the server closed the connection at login");
            LoginResult result = Assert.IsType<LoginResult>(MessengerCodec.DecodeServer(payload));
            Assert.True(result.Success, result.Error);
            return new Connection(tcp, channel, user, model);
        }

        public async Task SendAsync(string to, Model model)
        {
            string body = model.NextBody(_user, to);
            long reference = Interlocked.Increment(ref _nextRef);
            TaskCompletionSource<ServerMessage> reply = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[reference] = reply;
            long[] acksBefore = _unconfirmedAcks;
            try
            {
                await _channel.SendAsync(MessengerCodec.Encode(new SendRequest(reference, to, MessengerLimits.TextContentType, Encoding.UTF8.GetBytes(body))));
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
            {
                return; // the connection went away: not acknowledged, so the oracle expects nothing
            }
            ServerMessage answer = await reply.Task.WaitAsync(TestTimeouts.Event);
            if (answer is SendResult sent)
            {
                model.Acknowledged(sent.MessageId, _user, to, body);
                // One writer commits in order: this send's commit covers the acks sent before it.
                model.AcksCommitted(_user, acksBefore);
            }
            else if (answer is ErrorMessage error && error.Code != ErrorCodes.ServerShuttingDown)
            {
                throw new InvalidOperationException($"{_user}→{to}: unexpected error {error.Code}: {error.Message}");
            }
        }

        public async Task AckAsync(bool confirm, Model model)
        {
            long[] ids = model.ReceivedIds(_user);
            if (ids.Length == 0)
            {
                return;
            }
            try
            {
                await _channel.SendAsync(MessengerCodec.Encode(new AckRequest(ids)));
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
            _unconfirmedAcks = ids;
            if (confirm)
            {
                // A send to someone else is the round trip that proves the acks were committed.
                await SendAsync(s_users.First(u => u != _user), model);
            }
        }

        private async Task ReadLoopAsync()
        {
            try
            {
                while (true)
                {
                    byte[]? payload = await _channel.ReceiveAsync();
                    if (payload is null)
                    {
                        break;
                    }
                    switch (MessengerCodec.DecodeServer(payload))
                    {
                        case ChatMessage message:
                            _model.Received(_user, message);
                            break;
                        case SendResult result when _pending.TryRemove(result.Ref, out TaskCompletionSource<ServerMessage>? waiting):
                            waiting.TrySetResult(result);
                            break;
                        case ErrorMessage error when _pending.TryRemove(error.Ref, out TaskCompletionSource<ServerMessage>? waiting):
                            waiting.TrySetResult(error);
                            break;
                        case ErrorMessage { Ref: 0 } error when error.Code == ErrorCodes.ServerShuttingDown:
                            break;
                        case ServerPing:
                            await _channel.SendAsync(MessengerCodec.Encode(new PongMessage()));
                            break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or Parley.Protocol.ParleyProtocolException)
            {
            }
            finally
            {
                _open = false;
                foreach (TaskCompletionSource<ServerMessage> waiting in _pending.Values)
                {
                    // A reply that never came is not an acknowledgement.
                    waiting.TrySetResult(new ErrorMessage(0, ErrorCodes.ServerShuttingDown, "connection closed"));
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _channel.DisposeAsync();
            _tcp.Dispose();
            await _reader.WaitAsync(TestTimeouts.Event);
        }
    }
}
