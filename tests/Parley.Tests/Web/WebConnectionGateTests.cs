using System.Net.Sockets;
using Parley.Server.Web;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// HTTP connections to the web port before they become WebSockets, played by an attacker who opens
/// them and says nothing: one source holds at most its pre-login share, a silent one is closed after
/// the handshake's time, and a connection that upgrades gives its place back.
/// </summary>
public class WebConnectionGateTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Silent_connections_from_one_source_are_held_to_its_share_and_closed_after_the_handshake_time()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Web = new WebOptions { Port = 0 },
            MaxUnauthenticatedPerSource = 4,
            HandshakeTimeout = TimeSpan.FromSeconds(2),
        });
        int port = server.Server.WebPort!.Value;
        List<TcpClient> silent = [];
        try
        {
            for (int i = 0; i < 4; i++)
            {
                silent.Add(await ConnectAsync(port));
            }
            // The fifth from the same source is closed at once, before anything is read from it.
            using TcpClient refused = await ConnectAsync(port);
            Assert.Equal(0, await ReadOrEndAsync(refused));

            // Silent past the handshake's time (2 s here), the four are closed by the server: well before
            // Kestrel's own default of 30 s for a request's headers, which this would otherwise wait for.
            System.Diagnostics.Stopwatch silence = System.Diagnostics.Stopwatch.StartNew();
            foreach (TcpClient held in silent)
            {
                Assert.Equal(0, await ReadOrEndAsync(held));
            }
            Assert.True(silence.Elapsed < TimeSpan.FromSeconds(20), $"the silent connections were closed after {silence.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
        // Their places are back: the page is served again.
        using HttpClient http = new();
        string page = await http.GetStringAsync($"http://127.0.0.1:{port}/").WaitAsync(s_wait);
        Assert.Contains("<title>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_that_became_a_websocket_no_longer_takes_a_place_before_the_upgrade()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 }, MaxUnauthenticatedPerSource = 2 });
        int port = server.Server.WebPort!.Value;
        // Two WebSockets log in (the server's own admission counts them from the upgrade; logged in, neither counts as pre-login).
        await using Parley.Client.ChatClient first = await WebSocketLoginAsync(server, "first");
        await using Parley.Client.ChatClient second = await WebSocketLoginAsync(server, "second");
        // The gate's places were given back at the upgrades (else both would still be taken): a plain request is served.
        using HttpClient http = new();
        Assert.Contains("<title>", await http.GetStringAsync($"http://127.0.0.1:{port}/").WaitAsync(s_wait), StringComparison.Ordinal);
    }

    private static async Task<Parley.Client.ChatClient> WebSocketLoginAsync(TestServer server, string user)
    {
        System.Net.WebSockets.ClientWebSocket socket = new();
        socket.Options.SetRequestHeader("Origin", $"http://127.0.0.1:{server.Server.WebPort}");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Server.WebPort}{WebOptions.WebSocketPath}"), CancellationToken.None).WaitAsync(s_wait);
        Stream stream = new Parley.Transport.WebSockets.WebSocketFrameStream(socket,
            Parley.Transport.WebSockets.WebSocketFrameStream.MaxMessageLengthFor(Parley.Messaging.MessengerLimits.RecordLimitFor(Parley.Messaging.MessengerLimits.DefaultMaxBodyLength)));
        Parley.Client.ChatClient client = await Parley.Client.ChatClient.ConnectAsync(stream, server.ClientOptions).WaitAsync(s_wait);
        Assert.True((await client.LoginAsync(user, "correct horse", null).WaitAsync(s_wait)).Success);
        return client;
    }

    private static async Task<TcpClient> ConnectAsync(int port)
    {
        TcpClient client = new();
        await client.ConnectAsync("127.0.0.1", port).WaitAsync(s_wait);
        return client;
    }

    /// <summary>Bytes read, or 0 once the server has closed the connection (a reset counts as closed).</summary>
    private static async Task<int> ReadOrEndAsync(TcpClient client)
    {
        byte[] buffer = new byte[4096];
        try
        {
            return await client.GetStream().ReadAsync(buffer).AsTask().WaitAsync(s_wait);
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
