using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Parley.Protocol;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Messenger;

/// <summary>
/// PROTOCOL.md §11 as an independent implementation reads it: raw JSON over a real channel to a
/// real server, so each stated rule (base64 form, `ref` range, member order, content type,
/// `recipients`, keep-alive close) is what the server really does.
/// </summary>
public sealed class WireFormatTests
{
    [Theory]
    [InlineData("aGk=", true)]  // standard alphabet, padded
    [InlineData("aGk", false)]  // missing padding
    [InlineData("_-8=", false)] // URL-safe alphabet
    public async Task The_body_is_standard_padded_base64(string body, bool accepted)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawClient alice = await RawClient.LoginAsync(server, "alice");
        JsonElement reply = await alice.RequestAsync($$"""{"type":"send","ref":7,"to":"alice","contentType":"text/plain","body":"{{body}}"}""");
        if (accepted)
        {
            Assert.Equal("send_result", reply.GetProperty("type").GetString());
            Assert.Equal(7, reply.GetProperty("ref").GetInt64());
        }
        else
        {
            AssertError(reply, "bad_request", 0);
        }
    }

    [Theory]
    [InlineData("9223372036854775807")]
    [InlineData("-9223372036854775808")]
    [InlineData("1")]
    public async Task Any_signed_64_bit_ref_is_echoed_unchanged(string reference)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawClient alice = await RawClient.LoginAsync(server, "alice");
        JsonElement users = await alice.RequestAsync($$"""{"type":"list","ref":{{reference}}}""");
        Assert.Equal("users", users.GetProperty("type").GetString());
        Assert.Equal(reference, users.GetProperty("ref").GetRawText());
    }

    [Theory]
    [InlineData("""{"type":"list","ref":9223372036854775808}""")] // above 2^63-1
    [InlineData("""{"type":"list","ref":1.5}""")]
    [InlineData("""{"type":"list","ref":"1"}""")]
    [InlineData("""{"ref":1,"type":"list"}""")]                  // "type" not first
    public async Task A_ref_out_of_range_or_a_late_type_is_bad_request_about_no_request(string request)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawClient alice = await RawClient.LoginAsync(server, "alice");
        AssertError(await alice.RequestAsync(request), "bad_request", 0);
        // The connection goes on.
        Assert.Equal("users", (await alice.RequestAsync("""{"type":"list","ref":2}""")).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Content_type_is_required_and_at_most_128_code_units_and_the_body_may_be_empty()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawClient alice = await RawClient.LoginAsync(server, "alice");
        string longest = new('x', 128);
        JsonElement ok = await alice.RequestAsync($$"""{"type":"send","ref":1,"to":"alice","contentType":"{{longest}}","body":""}""");
        Assert.Equal("send_result", ok.GetProperty("type").GetString());

        AssertError(await alice.RequestAsync($$"""{"type":"send","ref":2,"to":"alice","contentType":"{{longest}}x","body":""}"""), "bad_request", 2);
        AssertError(await alice.RequestAsync("""{"type":"send","ref":3,"to":"alice","contentType":"","body":""}"""), "bad_request", 3);
        AssertError(await alice.RequestAsync("""{"type":"send","ref":4,"to":"alice","body":""}"""), "bad_request", 4);
        AssertError(await alice.RequestAsync("""{"type":"send","ref":5,"to":"alice","contentType":"text/plain"}"""), "bad_request", 5);
    }

    [Fact]
    public async Task Recipients_is_the_number_of_copies()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using RawClient alice = await RawClient.LoginAsync(server, "alice");
        JsonElement alone = await alice.RequestAsync("""{"type":"broadcast","ref":1,"contentType":"text/plain","body":"aGk="}""");
        Assert.Equal(JsonValueKind.Number, alone.GetProperty("recipients").ValueKind);
        Assert.Equal(0, alone.GetProperty("recipients").GetInt32());

        await using RawClient bob = await RawClient.LoginAsync(server, "bob");
        JsonElement one = await alice.RequestAsync("""{"type":"broadcast","ref":2,"contentType":"text/plain","body":"aGk="}""");
        Assert.Equal(1, one.GetProperty("recipients").GetInt32());
    }

    [Fact]
    public async Task An_idle_connection_is_cut_without_an_error_or_close_notify()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            KeepAliveInterval = TimeSpan.FromMilliseconds(20),
            IdleTimeout = TimeSpan.FromMilliseconds(200),
        });
        await using RawClient silent = await RawClient.LoginAsync(server, "alice");
        List<string> seen = [];
        ParleyProtocolException end = await Assert.ThrowsAsync<ParleyProtocolException>(async () =>
        {
            // Reads everything, answers nothing: pings come, then the server cuts the connection.
            while (true)
            {
                seen.Add((await silent.NextAsync()).GetProperty("type").GetString()!);
            }
        });
        Assert.Equal(ProtocolError.ConnectionClosed, end.Error);
        Assert.Contains("ping", seen);
        Assert.DoesNotContain("error", seen);
    }

    private static void AssertError(JsonElement reply, string code, long reference)
    {
        Assert.Equal("error", reply.GetProperty("type").GetString());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal(reference, reply.GetProperty("ref").GetInt64());
    }

    /// <summary>A client that speaks §11 JSON by hand over a real secure channel.</summary>
    private sealed class RawClient : IAsyncDisposable
    {
        private readonly SecureChannel _channel;

        private RawClient(SecureChannel channel) => _channel = channel;

        public static async Task<RawClient> LoginAsync(TestServer server, string user)
        {
            TcpClient tcp = new() { NoDelay = true };
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
            SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
            RawClient client = new(channel);
            JsonElement result = await client.RequestAsync($$"""{"type":"login","user":"{{user}}","password":"correct horse"}""");
            Assert.Equal("login_result", result.GetProperty("type").GetString());
            Assert.True(result.GetProperty("success").GetBoolean());
            return client;
        }

        /// <summary>Sends one JSON request and returns the next reply that is neither a keep-alive nor a delivered message.</summary>
        public async Task<JsonElement> RequestAsync(string json)
        {
            await _channel.SendAsync(Encoding.UTF8.GetBytes(json));
            while (true)
            {
                JsonElement reply = await NextAsync();
                if (reply.GetProperty("type").GetString() is not ("ping" or "pong" or "message"))
                {
                    return reply;
                }
            }
        }

        public async Task<JsonElement> NextAsync()
        {
            byte[]? payload = await _channel.ReceiveAsync().AsTask().WithTimeout();
            Assert.NotNull(payload);
            using JsonDocument document = JsonDocument.Parse(payload);
            return document.RootElement.Clone();
        }

        public ValueTask DisposeAsync() => _channel.DisposeAsync();
    }
}
