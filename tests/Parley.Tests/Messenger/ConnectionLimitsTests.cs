using Parley.Client;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Messenger;

/// <summary>Deadlines, keep-alives and per-address limits, each waited for as an event.</summary>
public class ConnectionLimitsTests
{
    private static async Task<SecureChannel> RawChannelAsync(TestServer server)
    {
        System.Net.Sockets.TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        return await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
    }

    private static async Task<ServerMessage?> NextAsync(SecureChannel channel)
    {
        byte[]? payload = await channel.ReceiveAsync().AsTask().WithTimeout();
        return payload is null ? null : MessengerCodec.DecodeServer(payload);
    }

    /// <summary>
    /// A connection that has not logged in streams KeyUpdate records (21 bytes each, a key
    /// derivation each for the server, nothing the server's turn-taking counted): the 33rd in a row
    /// ends it with unexpected_message (PROTOCOL.md §6.4), and the other connection is served. Found
    /// by review: one receive swallowed every KeyUpdate that kept arriving, holding the socket event
    /// thread it ran on, and every connection on that thread, for as long as the stream lasted.
    /// </summary>
    [Fact]
    public async Task A_stream_of_key_updates_is_cut_off_and_the_others_are_served()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using SecureChannel other = await RawChannelAsync(server);
        await using SecureChannel attacker = await RawChannelAsync(server);
        await attacker.SendAsync(MessengerCodec.Encode(new PingMessage()));
        Assert.IsType<ServerPong>(await NextAsync(attacker));

        // Its Finished and the ping took sequences 0 and 1 of its first key.
        HandSealedRecords records = new(attacker.Session.ExportSecretsForTesting().Send, 2);
        System.Reflection.FieldInfo streamField = typeof(SecureChannel).GetField("_stream", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        Stream raw = (Stream)streamField.GetValue(attacker)!;
        await raw.WriteAsync(records.KeyUpdates(RecordLimits.MaxKeyUpdatesInARow + 1));

        ParleyProtocolException refused = await Assert.ThrowsAsync<ParleyProtocolException>(() => NextAsync(attacker));
        Assert.Equal((ProtocolError.UnexpectedMessage, true), (refused.Error, refused.IsRemote));
        await other.SendAsync(MessengerCodec.Encode(new PingMessage()));
        Assert.IsType<ServerPong>(await NextAsync(other));
    }

    /// <summary>
    /// Connections that finish the handshake and then say nothing: each is cut off at the login
    /// deadline, and the line saying so is rate-limited like every other line an outsider can
    /// cause (found by review: one line per silent connection, ~34 a second sustained at the
    /// default limits, at the outsider's choosing).
    /// </summary>
    [Fact]
    public async Task Silent_connections_are_logged_at_a_bounded_rate()
    {
        const int Silent = 8, LinesPerSecond = 3;
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            LoginTimeout = TimeSpan.FromSeconds(2), Time = clock, LogLinesPerSecond = LinesPerSecond,
        });
        List<SecureChannel> channels = [];
        try
        {
            for (int i = 0; i < Silent; i++)
            {
                SecureChannel channel = await RawChannelAsync(server);
                channels.Add(channel);
                await channel.SendAsync(MessengerCodec.Encode(new PingMessage()));
                Assert.IsType<ServerPong>(await NextAsync(channel));
            }
            // Every deadline passes in the same instant of the server's clock.
            clock.Advance(TimeSpan.FromSeconds(2));
            foreach (SecureChannel channel in channels)
            {
                Assert.Equal(ErrorCodes.LoginTimeout, Assert.IsType<ErrorMessage>(await NextAsync(channel)).Code);
            }
        }
        finally
        {
            foreach (SecureChannel channel in channels)
            {
                await channel.DisposeAsync();
            }
        }
        // Each line is written before its error is sent.
        Assert.Equal(LinesPerSecond, server.Log.Split('\n').Count(l => l.Contains("did not log in within", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_client_that_does_not_log_in_in_time_is_cut_off_with_a_reason()
    {
        // The deadline runs on the server's clock: it passes when the test says so, not after a wait.
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with { LoginTimeout = TimeSpan.FromSeconds(2), Time = clock });
        await using SecureChannel channel = await RawChannelAsync(server);
        // A pong proves the server finished its side of the handshake and waits for the login.
        await channel.SendAsync(MessengerCodec.Encode(new PingMessage()));
        Assert.IsType<ServerPong>(await NextAsync(channel));
        clock.Advance(TimeSpan.FromSeconds(2));
        ErrorMessage error = Assert.IsType<ErrorMessage>(await NextAsync(channel));
        Assert.Equal(ErrorCodes.LoginTimeout, error.Code);
        Exception? end = await Record.ExceptionAsync(() => NextAsync(channel));
        Assert.True(end is null or ParleyProtocolException, end?.ToString());
    }

    [Fact]
    public async Task Requests_before_login_are_refused()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using SecureChannel channel = await RawChannelAsync(server);
        await channel.SendAsync(MessengerCodec.Encode(new ListRequest(1)));
        Assert.Equal(ErrorCodes.NotLoggedIn, Assert.IsType<ErrorMessage>(await NextAsync(channel)).Code);
        await channel.SendAsync("{not json"u8.ToArray());
        ErrorMessage garbage = Assert.IsType<ErrorMessage>(await NextAsync(channel));
        Assert.Equal(ErrorCodes.BadRequest, garbage.Code);
        Assert.DoesNotContain("not json", garbage.Message);
    }

    [Fact]
    public async Task Quiet_connections_are_pinged_and_silent_ones_closed()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            KeepAliveInterval = TimeSpan.FromMilliseconds(200),
            // Generous: a busy 2-core CI machine can pause a test thread for a while.
            IdleTimeout = TimeSpan.FromSeconds(3),
        });
        await using SecureChannel channel = await RawChannelAsync(server);
        await channel.SendAsync(MessengerCodec.Encode(new LoginRequest("quiet", "quiet password", null)));
        Assert.True(Assert.IsType<LoginResult>(await NextAsync(channel)).Success);
        // Answering pings keeps the connection open across several idle periods.
        for (int i = 0; i < 3; i++)
        {
            try
            {
                Assert.IsType<ServerPing>(await NextAsync(channel));
            }
            catch (ParleyProtocolException e)
            {
                Assert.Fail($"closed while answering pings ({e.Message}); server log:\n{server.Log}");
            }
            await channel.SendAsync(MessengerCodec.Encode(new PongMessage()));
        }
        // Then silence: the server gives up on us.
        ServerMessage? message;
        do
        {
            try
            {
                message = await NextAsync(channel);
            }
            catch (ParleyProtocolException)
            {
                message = null;
            }
        }
        while (message is ServerPing);
        Assert.Null(message);
    }

    [Fact]
    public async Task Connections_beyond_the_per_address_limit_are_refused_with_a_clear_error()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxConnectionsPerAddress = 2 });
        server.ExpectWarnings = true; // refusals are logged as warnings
        await using ChatClient first = await server.LoginAsync("one");
        await using ChatClient second = await server.LoginAsync("two");
        ParleyProtocolException refused = await Assert.ThrowsAsync<ParleyProtocolException>(() =>
            ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout());
        Assert.True(refused.IsRemote);
        Assert.Equal(ProtocolError.ConnectionLimit, refused.Error);
        Assert.Contains("limit 2", refused.Message);
        // The others are unaffected.
        Assert.Equal(["one", "two"], await first.ListAsync().WithTimeout());
    }
}
