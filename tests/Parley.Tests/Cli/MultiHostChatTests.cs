using Parley.Cli.Commands;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>`parley chat --host A --host B`: the nodes of a cluster, tried in turn (issue 12).</summary>
public class MultiHostChatTests
{
    [Theory]
    [InlineData("node1", 5555, "node1", 5555)]
    [InlineData("node1:6000", 5555, "node1", 6000)]
    [InlineData("[::1]:7000", 5555, "::1", 7000)]
    [InlineData("[::1]", 5555, "::1", 5555)]
    [InlineData("::1", 5555, "::1", 5555)]
    public void A_host_entry_names_its_port_or_takes_the_default(string text, int defaultPort, string host, int port)
    {
        Assert.True(ServerEndpoint.TryParse(text, defaultPort, out ServerEndpoint endpoint, out string error), error);
        Assert.Equal(new ServerEndpoint(host, port), endpoint);
    }

    [Theory]
    [InlineData("node1:0")]
    [InlineData("node1:70000")]
    [InlineData("node1:x")]
    [InlineData(":5555")]
    [InlineData("[::1")]
    public void A_malformed_host_entry_is_refused_in_words(string text)
    {
        Assert.False(ServerEndpoint.TryParse(text, 5555, out _, out string error));
        Assert.StartsWith($"--host '{text}'", error);
    }

    [Fact]
    public async Task A_node_that_does_not_answer_is_skipped_for_the_next_one()
    {
        using TempDirectory temp = new();
        await using TestServer server = await TestServer.StartAsync();
        int closed = ForeignListener.ClosedPort();
        File.WriteAllText(temp.File("alice.password"), "alice's long passphrase\n");
        await using ParleyProcess alice = ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home") },
            "chat", "--user", "alice", "--host", $"127.0.0.1:{closed}", "--host", $"127.0.0.1:{server.Port}",
            "--password-file", temp.File("alice.password"), "--trust-new", "--register");
        await alice.WaitForLineAsync($"[CLIENT] Connected to server at 127.0.0.1:{server.Port}");
        await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
        Assert.Contains($"127.0.0.1:{closed}", alice.Stdout + alice.Stderr);
        alice.CloseInput();
        Assert.Equal(0, await alice.WaitForExitAsync());
    }
}
