using System.Net;
using System.Net.WebSockets;
using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Server.Web;
using Parley.Tests.Support;
using Parley.Transport.WebSockets;

namespace Parley.Tests.Web;

/// <summary>
/// The web transport of <c>parley server</c>: a real ClientWebSocket carries the real protocol
/// (the .NET client's channel over a WebSocket stream) through Kestrel to the same connection
/// handler as TCP; oversize and text messages are refused; the page is served with its headers.
/// </summary>
public class WebSocketTransportTests
{
    private static Task<TestServer> StartWebServerAsync(Func<WebOptions, WebOptions>? web = null) =>
        TestServer.StartAsync(o => o with { Web = (web ?? (w => w))(new WebOptions { Port = 0 }) });

    private static Uri SocketUri(TestServer server) => new($"ws://127.0.0.1:{server.Server.WebPort}{WebOptions.WebSocketPath}");

    private static async Task<ClientWebSocket> OpenAsync(TestServer server, string? origin = null)
    {
        ClientWebSocket socket = new();
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }
        await socket.ConnectAsync(SocketUri(server), CancellationToken.None).WithTimeout();
        return socket;
    }

    [Fact]
    public async Task A_client_over_a_websocket_logs_in_and_exchanges_messages_with_a_tcp_client()
    {
        await using TestServer server = await StartWebServerAsync();
        ClientWebSocket socket = await OpenAsync(server, origin: $"http://127.0.0.1:{server.Server.WebPort}");
        Stream stream = new WebSocketFrameStream(socket, WebSocketFrameStream.MaxMessageLengthFor(MessengerLimits.RecordLimitFor(MessengerLimits.DefaultMaxBodyLength)));
        Channel<ChatMessage> webInbox = InboxExtensions.NewInbox();
        await using ChatClient overWeb = await ChatClient.ConnectAsync(stream, server.ClientOptions).WithTimeout();
        overWeb.MessageHandler = m => webInbox.Writer.WriteAsync(m);
        Assert.True((await overWeb.LoginAsync("webuser", "correct horse", null).WithTimeout()).Success);

        Channel<ChatMessage> tcpInbox = InboxExtensions.NewInbox();
        await using ChatClient overTcp = await server.LoginAsync("tcpuser", inbox: tcpInbox);
        Assert.Equal(["tcpuser", "webuser"], await overTcp.ListAsync().WithTimeout());

        await overTcp.SendTextAsync("webuser", "to the browser").WithTimeout();
        Assert.Equal("to the browser", (await webInbox.NextAsync()).Text());
        await overWeb.SendTextAsync("tcpuser", "to the socket").WithTimeout();
        Assert.Equal("to the socket", (await tcpInbox.NextAsync()).Text());
        // A body near the limit travels as one large record, one WebSocket message.
        string large = new('x', MessengerLimits.DefaultMaxBodyLength - 16);
        await overWeb.SendTextAsync("tcpuser", large).WithTimeout();
        Assert.Equal(large, (await tcpInbox.NextAsync()).Text());
    }

    [Fact]
    public async Task A_message_larger_than_the_largest_frame_is_refused_with_close_1009()
    {
        await using TestServer server = await StartWebServerAsync();
        server.ExpectWarnings = true;
        using ClientWebSocket socket = await OpenAsync(server);
        int tooLarge = WebSocketFrameStream.MaxMessageLengthFor(MessengerLimits.RecordLimitFor(MessengerLimits.DefaultMaxBodyLength)) + 1;
        await socket.SendAsync(new byte[tooLarge], WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).WithTimeout();
        WebSocketCloseStatus? status = await ReadUntilClosedAsync(socket);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, status);
    }

    /// <summary>
    /// Before the handshake only a handshake frame is legal (4 KiB, §4), as on TCP: a peer that has
    /// not finished one cannot make the server buffer a record's worth (~93 KB) per connection.
    /// </summary>
    [Fact]
    public async Task Before_the_handshake_a_message_larger_than_a_handshake_frame_is_refused_with_close_1009()
    {
        await using TestServer server = await StartWebServerAsync();
        server.ExpectWarnings = true;
        using ClientWebSocket socket = await OpenAsync(server);
        byte[] frame = new byte[4 + 5000];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame, 5000);
        await socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).WithTimeout();
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await ReadUntilClosedAsync(socket));
    }

    /// <summary>
    /// DNS rebinding: a page on the attacker's name, made to point at this server, sends an Origin
    /// that matches the Host it names. Only names this server answers to pass: an address, localhost,
    /// a configured origin's host (or a certificate's name).
    /// </summary>
    [Fact]
    public async Task An_upgrade_from_a_rebound_name_is_refused_and_one_from_a_name_the_server_answers_to_is_taken()
    {
        await using TestServer server = await StartWebServerAsync(w => w with { AllowedOrigins = ["https://chat.example.org"] });
        int port = server.Server.WebPort!.Value;
        Assert.StartsWith("HTTP/1.1 403", await UpgradeStatusAsync(port, $"evil.example:{port}"));
        Assert.StartsWith("HTTP/1.1 101", await UpgradeStatusAsync(port, $"127.0.0.1:{port}"));
        Assert.StartsWith("HTTP/1.1 101", await UpgradeStatusAsync(port, $"localhost:{port}"));
        Assert.StartsWith("HTTP/1.1 101", await UpgradeStatusAsync(port, $"chat.example.org:{port}"));
    }

    /// <summary>The status line the server answers a WebSocket upgrade with, sent with Host and Origin naming <paramref name="host"/>.</summary>
    private static async Task<string> UpgradeStatusAsync(int port, string host)
    {
        using System.Net.Sockets.TcpClient tcp = new();
        await tcp.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
        System.Net.Sockets.NetworkStream stream = tcp.GetStream();
        string request = $"GET {WebOptions.WebSocketPath} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request)).AsTask().WithTimeout();
        byte[] buffer = new byte[256];
        int read = await stream.ReadAsync(buffer).AsTask().WithTimeout();
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read);
    }

    [Fact]
    public async Task A_text_message_is_refused_with_close_1003()
    {
        await using TestServer server = await StartWebServerAsync();
        server.ExpectWarnings = true;
        using ClientWebSocket socket = await OpenAsync(server);
        await socket.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).WithTimeout();
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, await ReadUntilClosedAsync(socket));
    }

    [Fact]
    public async Task An_upgrade_from_another_sites_page_is_refused_before_any_parley_byte()
    {
        await using TestServer server = await StartWebServerAsync(w => w with { AllowedOrigins = ["https://chat.example.org"] });
        using ClientWebSocket evil = new();
        evil.Options.SetRequestHeader("Origin", "https://evil.example");
        evil.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => evil.ConnectAsync(SocketUri(server), CancellationToken.None).WithTimeout());
        Assert.Equal(HttpStatusCode.Forbidden, evil.HttpStatusCode);

        // Same host on another port (another local service's page) is another origin too.
        using ClientWebSocket otherPort = new();
        otherPort.Options.SetRequestHeader("Origin", "http://127.0.0.1:1");
        otherPort.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => otherPort.ConnectAsync(SocketUri(server), CancellationToken.None).WithTimeout());
        Assert.Equal(HttpStatusCode.Forbidden, otherPort.HttpStatusCode);

        using ClientWebSocket proxied = await OpenAsync(server, origin: "https://chat.example.org");
        Assert.Equal(WebSocketState.Open, proxied.State);
    }

    [Fact]
    public async Task The_page_is_served_with_a_strict_content_security_policy_and_no_sniffing()
    {
        await using TestServer server = await StartWebServerAsync();
        using HttpClient http = new() { BaseAddress = new Uri($"http://127.0.0.1:{server.Server.WebPort}/") };
        using HttpResponseMessage page = await http.GetAsync("/").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        string csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("connect-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        Assert.Equal("nosniff", string.Join("", page.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", string.Join("", page.Headers.GetValues("Referrer-Policy")));
        string html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(@"<script(?![^>]*\ssrc=)[^>]*>", html);

        using HttpResponseMessage missing = await http.GetAsync("/../parley.db").WithTimeout();
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using HttpResponseMessage post = await http.PostAsync("/", new StringContent("x")).WithTimeout();
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        using HttpResponseMessage plainGet = await http.GetAsync(WebOptions.WebSocketPath).WithTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, plainGet.StatusCode);
    }

    private static async Task<WebSocketCloseStatus?> ReadUntilClosedAsync(ClientWebSocket socket)
    {
        byte[] buffer = new byte[4096];
        while (true)
        {
            WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return result.CloseStatus;
            }
        }
    }
}
