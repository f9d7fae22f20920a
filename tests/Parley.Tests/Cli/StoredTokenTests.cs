using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Parley.Messaging;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Cli;

/// <summary>
/// `parley chat` against a scripted server: a stored device token is dropped only when the server
/// says it is invalid or revoked, never because logins are throttled (issue 8).
/// </summary>
public class StoredTokenTests
{
    private static readonly LoginResult s_throttled = new(false, "alice", null, false, "too many failed logins; try again in 60 s", 60, Code: ErrorCodes.RateLimited);
    private static readonly LoginResult s_badToken = new(false, "alice", null, false, "invalid or revoked device token", 0, Code: ErrorCodes.InvalidToken);
    private static readonly LoginResult s_badPassword = new(false, "alice", null, false, "invalid username or password", 0, Code: ErrorCodes.InvalidCredentials);

    /// <summary>Accepts one connection, answers its login requests with <paramref name="replies"/> in order, and returns the requests.</summary>
    private static async Task<List<LoginRequest>> ServeOnceAsync(TcpListener listener, params LoginResult[] replies)
    {
        using Socket socket = await listener.AcceptSocketAsync().WaitAsync(TestTimeouts.Event);
        await using NetworkStream stream = new(socket);
        await using SecureChannel channel = await SecureChannel.AcceptAsync(stream, HandshakeHarness.ServerOptions()).WaitAsync(TestTimeouts.Event);
        List<LoginRequest> requests = [];
        foreach (LoginResult reply in replies)
        {
            byte[] payload = (await channel.ReceiveAsync().AsTask().WaitAsync(TestTimeouts.Event))!;
            requests.Add(Assert.IsType<LoginRequest>(MessengerCodec.DecodeClient(payload)));
            await channel.SendAsync(MessengerCodec.Encode(reply));
        }
        try
        {
            // Whatever follows (acks, pings, close) until the client hangs up.
            while (await channel.ReceiveAsync().AsTask().WaitAsync(TestTimeouts.Event) is not null)
            {
            }
        }
        catch (Exception e) when (e is IOException or Parley.Protocol.ParleyProtocolException)
        {
        }
        return requests;
    }

    [Fact]
    public async Task The_chat_client_keeps_its_token_unless_the_server_calls_it_invalid()
    {
        using TempDirectory temp = new();
        TcpListener listener = new(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            string port = ((IPEndPoint)listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            File.WriteAllText(temp.File("alice.password"), "alice's long passphrase\n");
            Dictionary<string, string> environment = new() { ["PARLEY_HOME"] = temp.File("home-alice") };
            ParleyProcess Chat() => ParleyProcess.Start(temp.Path, environment,
                "chat", "--user", "alice", "--host", "localhost", "--port", port, "--password-file", temp.File("alice.password"), "--trust-new");

            // First run: the password, and the server issues a token.
            Task<List<LoginRequest>> serving = ServeOnceAsync(listener, new LoginResult(true, "alice", token, true, null, 0));
            await using (ParleyProcess first = Chat())
            {
                await first.WaitForLineAsync("[CLIENT] Authenticated as alice");
                first.CloseInput();
                Assert.Equal(0, await first.WaitForExitAsync());
            }
            Assert.Null(Assert.Single(await serving).DeviceToken);

            // Throttled, token and password alike: the login fails, the token is kept.
            serving = ServeOnceAsync(listener, s_throttled, s_throttled);
            await using (ParleyProcess throttled = Chat())
            {
                await throttled.WaitForLineAsync("[ERROR] Login failed");
                Assert.Equal(4, await throttled.WaitForExitAsync());
            }
            List<LoginRequest> second = await serving;
            Assert.Equal(token, second[0].DeviceToken);

            // Still there on the next run; this time the server calls it invalid.
            serving = ServeOnceAsync(listener, s_badToken, s_badPassword);
            await using (ParleyProcess revoked = Chat())
            {
                Assert.Equal(4, await revoked.WaitForExitAsync());
            }
            Assert.Equal(token, (await serving)[0].DeviceToken);

            // Now it is gone: the next run starts with the password.
            serving = ServeOnceAsync(listener, s_badPassword);
            await using (ParleyProcess fresh = Chat())
            {
                Assert.Equal(4, await fresh.WaitForExitAsync());
            }
            LoginRequest last = Assert.Single(await serving);
            Assert.Null(last.DeviceToken);
            Assert.NotNull(last.Password);
        }
        finally
        {
            listener.Stop();
        }
    }
}
