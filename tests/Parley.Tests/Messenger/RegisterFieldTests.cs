using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>The login's register field over real loopback connections (PROTOCOL.md §11.1, issue 14).</summary>
public class RegisterFieldTests
{
    private const string Password = "a long passphrase";

    private static async Task<LoginResult> LoginAsync(TestServer server, string user, bool? register, string password = Password)
    {
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        return await client.LoginAsync(user, password, null, register).WithTimeout();
    }

    [Fact]
    public async Task Register_false_refuses_an_unknown_name_and_creates_nothing()
    {
        await using TestServer server = await TestServer.StartAsync();
        LoginResult refused = await LoginAsync(server, "alice", register: false);
        Assert.False(refused.Success);
        Assert.Equal(ErrorCodes.UnknownUser, refused.Code);
        Assert.Equal("alice is not registered on this server", refused.Error);
        Assert.Null(refused.DeviceToken);
        // Still unknown: the refusal registered nothing.
        Assert.Equal(ErrorCodes.UnknownUser, (await LoginAsync(server, "alice", register: false)).Code);
    }

    [Fact]
    public async Task Register_true_and_an_absent_field_register_as_before()
    {
        await using TestServer server = await TestServer.StartAsync();
        LoginResult created = await LoginAsync(server, "alice", register: true);
        Assert.True(created.Success && created.Registered, created.Error);
        // Old clients send no field: first use still registers.
        LoginResult old = await LoginAsync(server, "bob", register: null);
        Assert.True(old.Success && old.Registered, old.Error);
        // An existing account logs in whatever the field says, and a wrong password is still just wrong.
        Assert.True((await LoginAsync(server, "alice", register: false)).Success);
        Assert.True((await LoginAsync(server, "alice", register: true)).Success);
        Assert.Equal(ErrorCodes.InvalidCredentials, (await LoginAsync(server, "alice", register: false, "the wrong passphrase")).Code);
    }

    [Fact]
    public async Task Probing_unknown_names_is_throttled_like_guessing_passwords()
    {
        await using TestServer server = await TestServer.StartAsync();
        server.ExpectWarnings = true;
        // From one source, the first probes are answered; then the per-source back-off applies (§11.4).
        List<string?> codes = [];
        for (int i = 0; i < 12; i++)
        {
            codes.Add((await LoginAsync(server, $"nobody{i}", register: false)).Code);
        }
        Assert.Equal(ErrorCodes.UnknownUser, codes[0]);
        Assert.Contains(ErrorCodes.RateLimited, codes);
    }

    [Fact]
    public async Task The_client_registers_after_confirmation_and_not_when_declined()
    {
        using TempDirectory temp = new();
        await using TestServer server = await TestServer.StartAsync();
        ClientLogin login = new(new ParleyHome(temp.File("home")));
        await using (ChatClient declined = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout())
        {
            LoginOutcome outcome = await login.LoginAsync(declined, "carol", _ => ValueTask.FromResult<string?>(Password),
                new NewAccountPolicy(false, _ => ValueTask.FromResult<string?>(null)));
            Assert.True(outcome.NotRegistered);
        }
        await using ChatClient confirmed = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        LoginOutcome created = await login.LoginAsync(confirmed, "carol", _ => ValueTask.FromResult<string?>(Password),
            new NewAccountPolicy(false, _ => ValueTask.FromResult<string?>("carol's chosen passphrase")));
        Assert.True(created.Success && created.Result!.Registered);
        Assert.True((await LoginAsync(server, "carol", register: false, "carol's chosen passphrase")).Success);
    }
}
