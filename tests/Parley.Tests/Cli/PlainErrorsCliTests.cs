using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>A wrong port through the real executable: plain words, and the protocol error only with --verbose (issue 14).</summary>
public class PlainErrorsCliTests
{
    private static Dictionary<string, string> Home(TempDirectory temp) => new() { ["PARLEY_HOME"] = temp.File("home") };

    [Fact]
    public async Task Chat_to_an_SSH_port_says_it_is_not_a_Parley_server()
    {
        using TempDirectory temp = new();
        await using ForeignListener ssh = ForeignListener.Ssh();
        string port = ssh.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using (ParleyProcess chat = ParleyProcess.Start(temp.Path, Home(temp), "chat", "--user", "alice", "--host", "localhost", "--port", port, "--trust-new"))
        {
            await chat.WaitForLineAsync($"[ERROR] localhost:{port} does not look like a Parley server (is the port right?): it answered like an SSH server.");
            Assert.Equal(3, await chat.WaitForExitAsync());
            Assert.DoesNotContain("frame_too_large", chat.Stdout + chat.Stderr);
        }
        await using (ParleyProcess verbose = ParleyProcess.Start(temp.Path, Home(temp), "chat", "--user", "alice", "--host", "localhost", "--port", port, "--trust-new", "--verbose"))
        {
            await verbose.WaitForLineAsync("[ERROR] Detail: frame_too_large: a frame of 1397966893 bytes");
            Assert.Equal(3, await verbose.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task Devices_to_a_closed_port_says_nothing_listens_there()
    {
        using TempDirectory temp = new();
        int port = ForeignListener.ClosedPort();
        await using ParleyProcess devices = ParleyProcess.Start(temp.Path, Home(temp), "devices", "--user", "alice", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await devices.WaitForLineAsync($"[ERROR] Cannot connect to 127.0.0.1:{port}: connection refused (nothing listens there: is the server running, and is the port right?).");
        Assert.Equal(3, await devices.WaitForExitAsync());
    }

    [Fact]
    public async Task Peer_dialing_a_messenger_server_is_told_to_use_chat()
    {
        using TempDirectory temp = new();
        await using TestServer server = await TestServer.StartAsync();
        await using ParleyProcess peer = ParleyProcess.Start(temp.Path, Home(temp), "peer", "--name", "bob", "--trust-new", "--connect", $"127.0.0.1:{server.Port}");
        await peer.WaitForLineAsync($"[!] 127.0.0.1:{server.Port} is a Parley server, not a peer: to use it, run 'parley chat --host 127.0.0.1 --port {server.Port}'.");
        Assert.Equal(3, await peer.WaitForExitAsync());
    }

    [Fact]
    public async Task Chat_to_a_peers_port_is_told_to_use_peer()
    {
        using TempDirectory temp = new();
        await using ParleyProcess alice = ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home-alice") },
            "peer", "--name", "alice", "--trust-new", "--listen", "0");
        string port = System.Text.RegularExpressions.Regex.Match(await alice.WaitForLineAsync("[*] Listening on port"), @"port (\d+)").Groups[1].Value;
        File.WriteAllText(temp.File("password"), "a long passphrase\n");
        await using ParleyProcess chat = ParleyProcess.Start(temp.Path, Home(temp),
            "chat", "--user", "bob", "--host", "127.0.0.1", "--port", port, "--trust-new", "--password-file", temp.File("password"));
        await chat.WaitForLineAsync($"[ERROR] 127.0.0.1:{port} is a Parley peer ('parley peer'), not a server: to chat with it, run 'parley peer --connect 127.0.0.1:{port}'.");
        Assert.Equal(3, await chat.WaitForExitAsync());
    }
}
