using System.Net;
using Parley.Client;
using Parley.Crypto.Signing;
using Parley.Peer;
using Parley.Protocol;
using Parley.Tests.Support;
using Parley.Transport.Channels;
using Parley.Transport.Diagnosis;

namespace Parley.Tests.Transport;

/// <summary>
/// Connecting to something that is not what the user meant, against real loopback listeners: the
/// failure is recognised early and described in words (issue 14), once for chat and peer alike.
/// </summary>
public class NotParleyTests
{
    private static ClientChannelOptions Options(TimeSpan? handshakeTimeout = null) =>
        new(new TestServer.TrustAnyServer()) { HandshakeTimeout = handshakeTimeout ?? SecureChannel.DefaultHandshakeTimeout };

    [Fact]
    public async Task An_SSH_server_is_recognised_by_its_banner_at_once()
    {
        await using ForeignListener ssh = ForeignListener.Ssh();
        System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        NotParleyException e = await Assert.ThrowsAsync<NotParleyException>(() => ChatClient.ConnectAsync("127.0.0.1", ssh.Port, Options()));
        // Recognised from the first bytes, not after the 10 s handshake deadline.
        Assert.True(clock.Elapsed < SecureChannel.DefaultHandshakeTimeout / 2, $"took {clock.Elapsed}");
        Assert.Equal("it answered like an SSH server", e.What);
        Assert.Equal(ProtocolError.FrameTooLarge, e.Protocol.Error);
        PlainError plain = ConnectionTrouble.Describe(e, "localhost", 22, Expected.Server);
        Assert.Equal("localhost:22 does not look like a Parley server (is the port right?): it answered like an SSH server", plain.Text);
        Assert.Contains("frame_too_large", plain.Technical);
    }

    [Fact]
    public async Task An_HTTP_server_is_recognised_by_its_reply()
    {
        await using ForeignListener http = ForeignListener.Http();
        NotParleyException e = await Assert.ThrowsAsync<NotParleyException>(() => ChatClient.ConnectAsync("127.0.0.1", http.Port, Options()));
        Assert.Equal("it answered like a web (HTTP) server", e.What);
        Assert.StartsWith($"127.0.0.1:{http.Port} does not look like a Parley peer", ConnectionTrouble.Describe(e, "127.0.0.1", http.Port, Expected.Peer).Text);
    }

    [Fact]
    public async Task A_server_that_never_answers_is_not_a_Parley_server()
    {
        await using ForeignListener silent = new(greeting: null);
        NotParleyException e = await Assert.ThrowsAsync<NotParleyException>(() => ChatClient.ConnectAsync("127.0.0.1", silent.Port, Options(TimeSpan.FromMilliseconds(300))));
        Assert.Equal(ProtocolError.HandshakeTimeout, e.Protocol.Error);
        Assert.Contains("did not answer the handshake", ConnectionTrouble.Describe(e, "127.0.0.1", silent.Port, Expected.Server).Text);
    }

    [Fact]
    public async Task A_closed_port_is_a_refused_connection_in_words()
    {
        int port = ForeignListener.ClosedPort();
        ChatConnectionException e = await Assert.ThrowsAsync<ChatConnectionException>(() => ChatClient.ConnectAsync("127.0.0.1", port, Options()));
        ConnectFailedException failed = Assert.IsType<ConnectFailedException>(e.InnerException);
        Assert.Equal(ConnectFailure.Refused, failed.Failure);
        Assert.Equal($"Cannot connect to 127.0.0.1:{port}: connection refused (nothing listens there: is the server running, and is the port right?)",
            ConnectionTrouble.Describe(e, "127.0.0.1", port, Expected.Server).Text);
    }

    [Fact]
    public async Task An_unknown_host_is_named()
    {
        ChatConnectionException e = await Assert.ThrowsAsync<ChatConnectionException>(() => ChatClient.ConnectAsync("no-such-host.invalid", 5555, Options()));
        Assert.Equal(ConnectFailure.UnknownHost, Assert.IsType<ConnectFailedException>(e.InnerException).Failure);
        Assert.StartsWith("Cannot connect to no-such-host.invalid:5555: unknown host 'no-such-host.invalid'", ConnectionTrouble.Describe(e, "no-such-host.invalid", 5555, Expected.Server).Text);
    }

    [Fact]
    public async Task A_chat_client_at_a_peers_port_is_told_it_reached_a_peer()
    {
        using TempDirectory temp = new();
        using SigningKey key = SignatureAlgorithms.Ed25519.GenerateKey();
        await using PeerNode peer = new(new PeerOptions(key, "alice", new PeerTrust(new KnownPeersFile(temp.File("known_peers"))) { TrustNew = true })
        {
            ListenPort = 0,
            ListenAddress = IPAddress.Loopback,
        });
        peer.StartListening();
        int port = peer.ListeningPort!.Value;
        // The handshake completes (the peer's key is as good as a server's); the peer then refuses
        // the Finished that came without a ClientIdentity, in a plaintext alert.
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", port, Options());
        ParleyProtocolException e = await Assert.ThrowsAsync<ParleyProtocolException>(() => client.LoginAsync("bob", "a long passphrase", null));
        Assert.Equal(ProtocolError.ClientIdentityRequired, e.Error);
        Assert.True(e.IsRemote && e.Unauthenticated);
        Assert.Equal($"127.0.0.1:{port} is a Parley peer ('parley peer'), not a server: to chat with it, run 'parley peer --connect 127.0.0.1:{port}'",
            ConnectionTrouble.Describe(e, "127.0.0.1", port, Expected.Server).Text);
    }

    [Fact]
    public async Task A_peer_dialing_a_server_is_told_it_reached_a_server()
    {
        using TempDirectory temp = new();
        await using TestServer server = await TestServer.StartAsync();
        using SigningKey key = SignatureAlgorithms.Ed25519.GenerateKey();
        await using PeerNode peer = new(new PeerOptions(key, "bob", new PeerTrust(new KnownPeersFile(temp.File("known_peers"))) { TrustNew = true })
        {
            Connect = new DnsEndPoint("127.0.0.1", server.Port),
        });
        PeerProtocolException e = await Assert.ThrowsAsync<PeerProtocolException>(() => peer.EstablishAsync().WaitAsync(TestTimeouts.Event));
        Assert.Equal($"127.0.0.1:{server.Port} is a Parley server, not a peer: to use it, run 'parley chat --host 127.0.0.1 --port {server.Port}'",
            ConnectionTrouble.Describe(e, "127.0.0.1", server.Port, Expected.Peer).Text);
    }

    [Theory]
    [InlineData("SSH-2.0-OpenSSH_9.6", "it answered like an SSH server")]
    [InlineData("HTTP/1.0 400 Bad Request", "it answered like a web (HTTP) server")]
    [InlineData("220 mail.example.org ESMTP", "it answered like a mail or FTP server")]
    [InlineData("hello there", "it answered with text, not a Parley handshake")]
    public void First_bytes_are_recognised(string first, string expected) =>
        Assert.Equal(expected, ForeignProtocol.Recognise(System.Text.Encoding.ASCII.GetBytes(first)));

    [Fact]
    public void A_Parley_frame_header_is_not_taken_for_another_service() =>
        Assert.Null(ForeignProtocol.Recognise([0, 0, 0, 200, 0x02, 0, 1]));
}
