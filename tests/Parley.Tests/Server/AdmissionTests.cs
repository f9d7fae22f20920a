using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Parley.Crypto.KeyAgreement;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Server.Hosting;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Server;

/// <summary>
/// Issue 8.1, each test playing the attacker: a handshake flood before authentication is
/// refused cheaply per source, the pre-login cap holds without locking out other sources,
/// costly groups can be switched off, and the log stays bounded.
/// </summary>
public partial class AdmissionTests
{
    private static Task<TestServer> StartAsync(ManualClock time, Func<ServerOptions, ServerOptions> configure) =>
        TestServer.StartAsync(o => configure(o with
        {
            Time = time,
            HandshakesPerSecondPerSource = 1,
            HandshakeBurstPerSource = 1000,
            MaxUnauthenticatedConnections = 1000,
            MaxUnauthenticatedPerSource = 1000,
        }));

    /// <summary>A TCP connection from <paramref name="source"/> (any 127/8 address reaches the loopback server).</summary>
    private static async Task<TcpClient> ConnectFromAsync(string source, int port)
    {
        TcpClient tcp = new(new IPEndPoint(IPAddress.Parse(source), 0));
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return tcp;
    }

    /// <summary>What a refused connection hears, without sending anything: a connection_limit alert, then the end.</summary>
    private static async Task<Alert> RefusalAsync(TcpClient tcp)
    {
        NetworkStream stream = tcp.GetStream();
        FrameDecoder decoder = new();
        using CancellationTokenSource timeout = new(TestTimeouts.Event);
        while (true)
        {
            if (decoder.TryReadFrame(out ReadOnlyMemory<byte> body))
            {
                Assert.Equal((byte)MessageType.Alert, body.Span[0]);
                Alert alert = Alert.DecodePayload(body.Span[1..]);
                Assert.Equal(ProtocolError.ConnectionLimit, alert.Error);
                Assert.Equal(0, await stream.ReadAsync(new byte[1], timeout.Token));
                return alert;
            }
            int read = await stream.ReadAsync(decoder.GetBuffer(), timeout.Token);
            Assert.True(read > 0, "the server closed without an alert");
            decoder.Advance(read);
        }
    }

    private static async Task<LoginResult> LogInFromAsync(TestServer server, string source, string user)
    {
        using TcpClient tcp = await ConnectFromAsync(source, server.Port);
        await using SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
        await channel.SendAsync(MessengerCodec.Encode(new LoginRequest(user, "correct horse", null)));
        byte[]? reply = await channel.ReceiveAsync().AsTask().WithTimeout();
        return Assert.IsType<LoginResult>(MessengerCodec.DecodeServer(reply!));
    }

    [Fact]
    public async Task A_burst_beyond_the_bucket_is_refused_before_any_key_agreement()
    {
        ManualClock time = new();
        await using TestServer server = await StartAsync(time, o => o with { HandshakeBurstPerSource = 3 });
        server.ExpectWarnings = true; // refusals are logged as warnings
        List<TcpClient> admitted = [];
        for (int i = 0; i < 3; i++)
        {
            admitted.Add(await ConnectFromAsync("127.0.0.1", server.Port));
        }

        // The attacker sends nothing: the alert comes before any ClientHello, so no key agreement ran.
        for (int i = 0; i < 5; i++)
        {
            using TcpClient refused = await ConnectFromAsync("127.0.0.1", server.Port);
            Alert alert = await RefusalAsync(refused);
            Assert.Equal(ProtocolError.ConnectionLimit, alert.Error);
            Assert.Contains("per second", alert.Reason);
        }
        Assert.Equal(3, server.Server.UnauthenticatedConnections);

        // Another source has its own bucket; and the bucket refills with time.
        Assert.True((await LogInFromAsync(server, "127.0.0.2", "alice")).Success);
        time.Now += TimeSpan.FromSeconds(1);
        Assert.True((await LogInFromAsync(server, "127.0.0.1", "bob")).Success);
        admitted.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task The_pre_login_cap_holds_while_a_client_from_another_source_logs_in()
    {
        ManualClock time = new();
        await using TestServer server = await StartAsync(time, o => o with { MaxUnauthenticatedConnections = 4, MaxUnauthenticatedPerSource = 3 });
        server.ExpectWarnings = true; // refusals are logged as warnings
        List<TcpClient> held = [];
        for (int i = 0; i < 3; i++)
        {
            held.Add(await ConnectFromAsync("127.0.0.1", server.Port));
        }
        for (int i = 0; i < 5; i++)
        {
            using TcpClient refused = await ConnectFromAsync("127.0.0.1", server.Port);
            Assert.Contains("have not logged in", (await RefusalAsync(refused)).Reason);
        }
        Assert.Equal(3, server.Server.UnauthenticatedConnections);

        Assert.True((await LogInFromAsync(server, "127.0.0.2", "alice")).Success);

        // A third source gets the last pre-login slot; then the global cap refuses.
        held.Add(await ConnectFromAsync("127.0.0.3", server.Port));
        using TcpClient overCap = await ConnectFromAsync("127.0.0.3", server.Port);
        Alert full = await RefusalAsync(overCap);
        Assert.Equal(ProtocolError.ConnectionLimit, full.Error);
        Assert.Contains("the server has too many connections", full.Reason);
        Assert.Equal(4, server.Server.UnauthenticatedConnections);
        held.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task A_flood_of_refusals_leaves_a_bounded_log_with_a_summary()
    {
        ManualClock time = new();
        await using TestServer server = await StartAsync(time, o => o with { HandshakeBurstPerSource = 1, HandshakesPerSecondPerSource = 0.001, LogLinesPerSecond = 5 });
        server.ExpectWarnings = true; // refusals are logged as warnings
        using TcpClient admitted = await ConnectFromAsync("127.0.0.1", server.Port);
        for (int i = 0; i < 60; i++)
        {
            using TcpClient refused = await ConnectFromAsync("127.0.0.1", server.Port);
            await RefusalAsync(refused);
        }
        Assert.Equal(5, RefusedLines(server.Log));

        time.Now += TimeSpan.FromSeconds(1);
        using (TcpClient next = await ConnectFromAsync("127.0.0.1", server.Port))
        {
            await RefusalAsync(next);
        }
        Assert.Contains("Suppressed 55 similar lines (refused connection)", server.Log);
        Assert.Equal(6, RefusedLines(server.Log));
    }

    private static int RefusedLines(string log) => log.Split('\n').Count(line => line.Contains("Refused a connection", StringComparison.Ordinal));

    [Fact]
    public async Task A_server_started_with_groups_x25519_p256_refuses_a_modp2048_only_client()
    {
        using TempDirectory temp = new();
        await using ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--host", "127.0.0.1", "--port", "0", "--data", "data", "--groups", "x25519,p256");
        string started = await server.WaitForLineAsync("[SERVER] Started on");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        int port = int.Parse(PortPattern().Match(started).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        using TcpClient tcp = await ConnectFromAsync("127.0.0.1", port);
        ClientChannelOptions modp2048Only = new TestServerTrust().Options with
        {
            Handshake = new ClientHandshakeOptions { Groups = [KeyAgreementAlgorithms.Modp2048] },
        };
        ParleyProtocolException error = await Assert.ThrowsAsync<ParleyProtocolException>(() => SecureChannel.ConnectAsync(tcp.GetStream(), modp2048Only).WithTimeout());
        Assert.Equal(ProtocolError.NoCommonGroup, error.Error);

        using TcpClient x25519 = await ConnectFromAsync("127.0.0.1", port);
        await using SecureChannel accepted = await SecureChannel.ConnectAsync(x25519.GetStream(), new TestServerTrust().Options).WithTimeout();
        Assert.Equal("x25519", accepted.Group);
    }

    [Fact]
    public async Task An_unknown_group_is_a_usage_error()
    {
        using TempDirectory temp = new();
        (int exitCode, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "server", "--port", "0", "--data", "data", "--groups", "x25519,ffdhe9999").WithTimeout();
        Assert.Equal(2, exitCode);
        Assert.Contains("unknown group 'ffdhe9999'", stderr);
        Assert.False(Directory.Exists(temp.File("data")));
    }

    [GeneratedRegex(@"Started on [^:]+:(\d+)")]
    private static partial Regex PortPattern();

    private sealed class TestServerTrust : Parley.Transport.Trust.IServerTrust
    {
        public ClientChannelOptions Options => new(this);

        public ValueTask<Parley.Transport.Trust.TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Parley.Transport.Trust.TrustDecision.Accept("test"));
    }
}
