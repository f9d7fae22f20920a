using System.Net.Sockets;
using Parley.Client;
using Parley.Tests.Support;

namespace Parley.Tests.Client;

/// <summary>The client's login policy (issue 15) against a real server, without the executable.</summary>
public class ClientLoginTests
{
    [Fact]
    public async Task Password_first_then_the_saved_token_and_an_invalid_token_is_dropped_for_the_password()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        ParleyHome home = new(temp.File("home"));
        ClientLogin login = new(home);
        int asked = 0;
        ValueTask<string?> Password(CancellationToken _)
        {
            asked++;
            return ValueTask.FromResult<string?>("alice's long passphrase");
        }

        await using (ChatClient first = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout())
        {
            LoginOutcome outcome = await login.LoginAsync(first, "alice", Password).WithTimeout();
            Assert.True(outcome.Success);
            Assert.False(outcome.ByToken);
            Assert.Equal(1, asked);
            Assert.True(login.HasToken(first, "alice"));
        }
        string fingerprint;
        await using (ChatClient second = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout())
        {
            LoginOutcome outcome = await login.LoginAsync(second, "alice", Password).WithTimeout();
            Assert.True(outcome.Success);
            Assert.True(outcome.ByToken);
            Assert.Equal(1, asked);
            fingerprint = second.ServerIdentity.Fingerprint;
        }
        home.WriteToken(fingerprint, "alice", "not-a-token-the-server-issued");
        await using (ChatClient third = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout())
        {
            LoginOutcome outcome = await login.LoginAsync(third, "alice", Password).WithTimeout();
            Assert.True(outcome.Success);
            Assert.False(outcome.ByToken);
            Assert.Equal(2, asked);
            Assert.NotEqual("not-a-token-the-server-issued", home.ReadToken(fingerprint, "alice"));
        }
    }

    [Fact]
    public async Task Remembered_tokens_are_read_once_and_a_refused_one_is_replaced_by_the_next_issued()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        ParleyHome home = new(temp.File("home"));
        ClientLogin login = new(home) { RemembersTokens = true };
        int asked = 0;
        ValueTask<string?> Password(CancellationToken _)
        {
            asked++;
            return ValueTask.FromResult<string?>("alice's long passphrase");
        }
        async Task<LoginOutcome> LogInAsync()
        {
            await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
            string fingerprint = client.ServerIdentity.Fingerprint;
            if (asked == 0)
            {
                // A stale token on disk before the first login: read, refused by the server, dropped.
                home.WriteToken(fingerprint, "alice", "not-a-token-the-server-issued");
            }
            LoginOutcome outcome = await login.LoginAsync(client, "alice", Password).WithTimeout();
            // The file is gone behind the login's back: only the remembered token can log in now.
            home.DeleteToken(fingerprint, "alice");
            return outcome;
        }

        LoginOutcome first = await LogInAsync();
        Assert.True(first.Success);
        Assert.False(first.ByToken);
        Assert.Equal(1, asked);
        for (int i = 0; i < 2; i++)
        {
            LoginOutcome again = await LogInAsync();
            Assert.True(again.Success);
            Assert.True(again.ByToken);
            Assert.Equal(1, asked);
        }
    }

    [Fact]
    public async Task A_host_that_answers_with_another_key_loses_the_old_keys_tokens()
    {
        await using TestServer a = await TestServer.StartAsync();
        await using TestServer b = await TestServer.StartAsync();
        using TempDirectory temp = new();
        ClientLogin login = new(new ParleyHome(temp.File("home")));
        await using ChatClient toA = await ChatClient.ConnectAsync("127.0.0.1", a.Port, a.ClientOptions).WithTimeout();
        Assert.False(login.RecordServerKey(toA, "parley.example", 5555));
        Assert.True((await login.LoginAsync(toA, "alice", _ => ValueTask.FromResult<string?>("alice's long passphrase")).WithTimeout()).Success);
        Assert.True(login.HasToken(toA, "alice"));

        await using ChatClient toB = await ChatClient.ConnectAsync("127.0.0.1", b.Port, b.ClientOptions).WithTimeout();
        Assert.True(login.RecordServerKey(toB, "parley.example", 5555));
        Assert.False(login.HasToken(toA, "alice"));
    }

    [Fact]
    public async Task No_password_to_be_had_ends_the_login_without_asking_the_server()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        LoginOutcome outcome = await new ClientLogin(new ParleyHome(temp.File("home"))).LoginAsync(client, "alice", _ => ValueTask.FromResult<string?>(null)).WithTimeout();
        Assert.True(outcome.PasswordMissing);
        Assert.False(outcome.Success);
    }

    [Fact]
    public async Task The_chat_client_runs_over_a_stream_handed_in()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port).WithTimeout();
        await using ChatClient client = await ChatClient.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
        Assert.True((await client.LoginAsync("alice", "alice's long passphrase", null).WithTimeout()).Success);
        Assert.Contains("alice", await client.ListAsync().WithTimeout());
    }
}
