using System.Text.RegularExpressions;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>Two real `parley peer` processes.</summary>
public partial class PeerEndToEndTests
{
    private static ParleyProcess Peer(TempDirectory temp, string name, params string[] args) =>
        ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home-" + name) },
            ["peer", "--name", name, "--trust-new", .. args]);

    [Fact]
    public async Task Two_peers_chat_and_exit_ends_both_cleanly()
    {
        using TempDirectory temp = new();
        // parley id creates and shows the identity that the other side will pin.
        Dictionary<string, string> aliceHome = new() { ["PARLEY_HOME"] = temp.File("home-alice") };
        await using (ParleyProcess id = ParleyProcess.Start(temp.Path, aliceHome, "id"))
        {
            await id.WaitForLineAsync("Created a new identity in");
            Assert.Equal(0, await id.WaitForExitAsync());
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(temp.File("home-alice/identity.key")));
        string aliceFingerprint = await FingerprintAsync(temp, aliceHome);
        Assert.Matches(IdentityLine(), aliceFingerprint);

        await using ParleyProcess alice = Peer(temp, "alice", "--listen", "0");
        int port = int.Parse(PortLine().Match(await alice.WaitForLineAsync("[*] Listening on port")).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        await using ParleyProcess bob = Peer(temp, "bob", "--connect", $"127.0.0.1:{port}");

        string bobSees = await bob.WaitForLineAsync("[*] Secure session with alice");
        Assert.Contains(aliceFingerprint, bobSees);
        await alice.WaitForLineAsync("[*] Secure session with bob");

        await bob.WriteLineAsync("hello alice");
        Assert.Equal("[bob]: hello alice", (await alice.WaitForLineAsync("[bob]:")).Trim());
        await alice.WriteLineAsync("hi bob, all good");
        Assert.Equal("[alice]: hi bob, all good", (await bob.WaitForLineAsync("[alice]:")).Trim());

        await bob.WriteLineAsync("exit");
        await alice.WaitForLineAsync("[*] bob left the chat.");
        Assert.Equal(0, await bob.WaitForExitAsync());
        Assert.Equal(0, await alice.WaitForExitAsync());
        Assert.Contains("alice ed25519", File.ReadAllText(temp.File("home-bob/known_peers")));
    }

    [Fact]
    public async Task Dialing_nobody_fails_with_a_clear_message_and_exit_code_3()
    {
        using TempDirectory temp = new();
        using System.Net.Sockets.TcpListener probe = new(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using ParleyProcess bob = Peer(temp, "bob", "--connect", $"127.0.0.1:{port}");
        await bob.WaitForLineAsync("connection refused");
        Assert.Equal(3, await bob.WaitForExitAsync());
    }

    [Fact]
    public async Task Missing_values_are_prompted_for_like_the_seed()
    {
        using TempDirectory temp = new();
        await using ParleyProcess alice = Peer(temp, "alice");
        await alice.WriteLineAsync("0");
        await alice.WriteLineAsync("");
        await alice.WaitForLineAsync("[*] Listening on port");
        Assert.Contains("Enter port to listen on:", alice.Stdout);
        Assert.Contains("Enter IP to connect to (leave blank to skip):", alice.Stdout);
    }

    [Fact]
    public async Task By_default_a_listening_peer_is_reachable_from_this_machine_only_and_says_so()
    {
        using TempDirectory temp = new();
        await using ParleyProcess alice = Peer(temp, "alice", "--listen", "0");
        string line = await alice.WaitForLineAsync("[*] Listening on port");
        Assert.Contains("at 127.0.0.1", line);
        Assert.Contains("--listen-host", line);
        int port = int.Parse(PortLine().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // 127.0.0.2 is this machine too, but not the address listened on: a socket bound to
        // 0.0.0.0 (the old default) would accept it.
        using System.Net.Sockets.TcpClient other = new();
        System.Net.Sockets.SocketException refused = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(
            () => other.ConnectAsync(System.Net.IPAddress.Parse("127.0.0.2"), port).WithTimeout());
        Assert.Equal(System.Net.Sockets.SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task Listen_host_binds_where_asked()
    {
        using TempDirectory temp = new();
        await using ParleyProcess alice = Peer(temp, "alice", "--listen", "0", "--listen-host", "127.0.0.2");
        string line = await alice.WaitForLineAsync("[*] Listening on port");
        Assert.Contains("at 127.0.0.2", line);
        int port = int.Parse(PortLine().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        using (System.Net.Sockets.TcpClient other = new())
        {
            System.Net.Sockets.SocketException refused = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(
                () => other.ConnectAsync(System.Net.IPAddress.Loopback, port).WithTimeout());
            Assert.Equal(System.Net.Sockets.SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
        await using ParleyProcess bob = Peer(temp, "bob", "--connect", $"127.0.0.2:{port}");
        await bob.WaitForLineAsync("[*] Secure session with alice");
        await alice.WaitForLineAsync("[*] Secure session with bob");
    }

    [Fact]
    public async Task A_listen_host_that_is_not_an_address_is_a_usage_error()
    {
        using TempDirectory temp = new();
        await using ParleyProcess alice = Peer(temp, "alice", "--listen", "0", "--listen-host", "not an address[2J");
        Assert.Equal(2, await alice.WaitForExitAsync());
        Assert.DoesNotContain("", alice.Stdout + alice.Stderr);
    }

    private static async Task<string> FingerprintAsync(TempDirectory temp, Dictionary<string, string> home)
    {
        await using ParleyProcess id = ParleyProcess.Start(temp.Path, home, "id");
        string line = await id.WaitForLineAsync("Your identity:");
        await id.WaitForExitAsync();
        return line.Split(' ')[^1];
    }

    [GeneratedRegex(@"port (\d+)")]
    private static partial Regex PortLine();

    [GeneratedRegex(@"SHA256:\S+")]
    private static partial Regex IdentityLine();
}
