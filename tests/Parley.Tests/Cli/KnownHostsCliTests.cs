using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Trust;

namespace Parley.Tests.Cli;

/// <summary>`parley known-hosts` and `parley known-peers` through the real executable (issue 14).</summary>
public class KnownHostsCliTests
{
    private static PeerIdentity NewIdentity()
    {
        using SigningKey key = SignatureAlgorithms.Ed25519.GenerateKey();
        return new PeerIdentity(key.Algorithm, key.PublicKey.ToArray());
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(TempDirectory temp, params string[] args)
    {
        await using ParleyProcess process = ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home") }, args);
        process.CloseInput();
        int code = await process.WaitForExitAsync();
        return (code, process.Stdout, process.Stderr);
    }

    [Fact]
    public async Task Known_hosts_are_listed_by_fingerprint_and_removed_like_ssh_keygen_R()
    {
        using TempDirectory temp = new();
        KnownHostsFile file = new(temp.File("home/known_hosts"));
        PeerIdentity first = NewIdentity();
        PeerIdentity second = NewIdentity();
        PeerIdentity third = NewIdentity();
        file.Add("localhost:5555", first);
        file.Add("localhost:6000", second);
        file.Add("chat.example.org:5555", third);

        (int code, string listed, _) = await RunAsync(temp, "known-hosts", "list");
        Assert.Equal(0, code);
        Assert.Contains(first.Fingerprint, listed);
        Assert.Contains(third.Fingerprint, listed);
        Assert.DoesNotContain(first.PublicKeyBase64, listed);
        Assert.Matches(@"localhost:5555\s+ed25519 SHA256:", listed);

        (code, string removed, _) = await RunAsync(temp, "known-hosts", "remove", "localhost:5555");
        Assert.Equal(0, code);
        Assert.Contains($"Removed 'localhost:5555' (ed25519 {first.Fingerprint})", removed);
        Assert.Equal(["localhost:6000", "chat.example.org:5555"], file.Entries().Select(e => e.Name));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.Path));

        // A bare host forgets it on every port.
        (code, removed, _) = await RunAsync(temp, "known-hosts", "remove", "LOCALHOST");
        Assert.Equal(0, code);
        Assert.Contains("Removed 'localhost:6000'", removed);
        Assert.Equal(["chat.example.org:5555"], file.Entries().Select(e => e.Name));

        (code, _, string stderr) = await RunAsync(temp, "known-hosts", "remove", "localhost");
        Assert.Equal(1, code);
        Assert.Contains("No entry for 'localhost'", stderr);
    }

    [Fact]
    public async Task Known_peers_are_listed_and_removed_by_name()
    {
        using TempDirectory temp = new();
        Parley.Peer.KnownPeersFile peers = new(temp.File("home/known_peers"));
        PeerIdentity bob = NewIdentity();
        PeerIdentity carol = NewIdentity();
        peers.Add("bob", bob);
        peers.Add("carol", carol);

        (int code, string listed, _) = await RunAsync(temp, "known-peers");
        Assert.Equal(0, code);
        Assert.Contains(bob.Fingerprint, listed);
        Assert.Contains(carol.Fingerprint, listed);

        (code, string removed, _) = await RunAsync(temp, "known-peers", "remove", "bob");
        Assert.Equal(0, code);
        Assert.Contains($"Removed 'bob' (ed25519 {bob.Fingerprint})", removed);
        Assert.Equal(["carol"], peers.Entries().Select(e => e.Name));
    }

    [Fact]
    public async Task An_empty_list_says_so()
    {
        using TempDirectory temp = new();
        (int code, string listed, _) = await RunAsync(temp, "known-hosts");
        Assert.Equal(0, code);
        Assert.Contains("No entries in", listed);
    }
}
