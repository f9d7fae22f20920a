using System.Net;
using System.Net.Sockets;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Client;

/// <summary>
/// A server that dies as a kill -9'd one does (FIN, no close_notify) between a caller's last look at
/// the connection and its next request: the request fails with ChatConnectionException instead of
/// waiting for ever for an answer no read loop will give. This was the one CI failure of the kill -9
/// end-to-end test: `parley chat` sat on such a send and never said it was reconnecting.
/// </summary>
public class ChatClientLostServerTests
{
    /// <summary>A TCP relay to the server that can end as a killed server's kernel ends it: FIN both ways, not RST.</summary>
    private sealed class Relay : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task<(TcpClient Down, TcpClient Up)> _pair;

        public Relay(int target)
        {
            _listener.Start();
            _pair = Task.Run(async () =>
            {
                TcpClient down = await _listener.AcceptTcpClientAsync();
                TcpClient up = new();
                await up.ConnectAsync(IPAddress.Loopback, target);
                _ = down.GetStream().CopyToAsync(up.GetStream()).ContinueWith(t => t.Exception, TaskScheduler.Default);
                _ = up.GetStream().CopyToAsync(down.GetStream()).ContinueWith(t => t.Exception, TaskScheduler.Default);
                return (down, up);
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>Ends both sides with a FIN (a .NET Close with a read pending would send RST, which a killed process does not).</summary>
        public async Task DieAsync()
        {
            (TcpClient down, TcpClient up) = await _pair.WithTimeout();
            down.Client.Shutdown(SocketShutdown.Both);
            up.Client.Shutdown(SocketShutdown.Both);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            if (_pair.IsCompletedSuccessfully)
            {
                (TcpClient down, TcpClient up) = await _pair;
                down.Dispose();
                up.Dispose();
            }
        }
    }

    /// <param name="request">
    /// What the caller does next: one send, a batch awaited through its tasks, a batch answered into a
    /// sink, a download, or an upload's chunk.
    /// </param>
    [Theory]
    [InlineData("send")]
    [InlineData("batch")]
    [InlineData("batch-into-sink")]
    [InlineData("download")]
    [InlineData("upload")]
    public async Task A_request_made_after_the_read_loop_ended_fails_instead_of_waiting_for_ever(string request)
    {
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using Relay relay = new(server.Port);
        ChatClient bob = await ChatClient.ConnectAsync("127.0.0.1", relay.Port, server.ClientOptions).WithTimeout();
        Assert.True((await bob.LoginAsync("bob", "correct horse", null).WithTimeout()).Success);
        await bob.SendTextAsync("alice", "before").WithTimeout();
        FileUploadState upload = await bob.BeginUploadAsync(["alice"], 16, 1040).WithTimeout();

        await relay.DieAsync();
        // The read loop sees the end of the stream and fails what is pending (nothing is)...
        await Assert.ThrowsAnyAsync<Exception>(() => bob.Completion.WithTimeout());
        // ...and only then does the next request register for its answer; its write still goes out
        // (the first write after a FIN does), and no answer will come.
        switch (request)
        {
            case "send":
                await Assert.ThrowsAsync<ChatConnectionException>(() => bob.SendTextAsync("alice", "after").WithTimeout());
                break;
            case "batch":
                await Assert.ThrowsAsync<ChatConnectionException>(async () =>
                {
                    Task<SendResult>[] answers = await bob.SendMessagesAsync([new OutgoingMessage("alice", "text/plain", [1])]).WithTimeout();
                    await answers[0].WithTimeout();
                });
                break;
            case "batch-into-sink":
                LostAnswers lost = new();
                long first = await bob.SendMessagesAsync([new OutgoingMessage("alice", "text/plain", [1]), new OutgoingMessage("alice", "text/plain", [2])], lost).AsTask().WithTimeout();
                Assert.Equal([first, first + 1], (await lost.Both.WithTimeout()).Order());
                break;
            case "download":
                await Assert.ThrowsAsync<ChatConnectionException>(async () =>
                {
                    using CancellationTokenSource hang = new(TestTimeouts.Event);
                    await foreach (FileData _ in bob.DownloadAsync(upload.FileId, 0, 1, hang.Token))
                    {
                    }
                });
                break;
            case "upload":
                using (UploadChannel channel = bob.OpenUpload(upload.FileId))
                {
                    await Assert.ThrowsAsync<ChatConnectionException>(() => channel.SendAsync(0, new byte[16], CancellationToken.None).AsTask().WithTimeout());
                }
                break;
        }
        await bob.DisposeAsync();
    }

    /// <summary>
    /// Before a login has started the read loop (here after a refused login) nothing can answer: a
    /// batch into a sink is reported lost and a download fails at once, as after the loop ended.
    /// </summary>
    [Fact]
    public async Task Requests_on_a_client_whose_login_failed_fail_instead_of_waiting_for_ever()
    {
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using ChatClient bob = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        Assert.False((await bob.LoginAsync("alice", "wrong password", null).WithTimeout()).Success);

        LostAnswers lost = new();
        long first = await bob.SendMessagesAsync([new OutgoingMessage("alice", "text/plain", [1]), new OutgoingMessage("alice", "text/plain", [2])], lost).AsTask().WithTimeout();
        Assert.Equal([first, first + 1], (await lost.Both.WithTimeout()).Order());
        await Assert.ThrowsAsync<ChatConnectionException>(async () =>
        {
            using CancellationTokenSource hang = new(TestTimeouts.Event);
            await foreach (FileData _ in bob.DownloadAsync(new string('a', 32), 0, 1, hang.Token))
            {
            }
        });
    }

    /// <summary>Expects exactly two answers, both Lost.</summary>
    private sealed class LostAnswers : ISendAnswers
    {
        private readonly List<long> _lost = [];
        private readonly TaskCompletionSource<long[]> _both = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<long[]> Both => _both.Task;

        public void Accepted(long reference, SendResult result) => _both.TrySetException(new InvalidOperationException("accepted after the connection ended"));

        public void Refused(long reference, ChatException refusal) => _both.TrySetException(new InvalidOperationException("refused after the connection ended"));

        public void Lost(long reference, ChatConnectionException error)
        {
            lock (_lost)
            {
                _lost.Add(reference);
                if (_lost.Count == 2)
                {
                    _both.TrySetResult([.. _lost]);
                }
            }
        }
    }
}
