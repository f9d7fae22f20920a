using System.Net.Sockets;
using Parley.Crypto.Signing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Channels;
using Parley.Transport.Trust;

namespace Parley.Tests.Transport;

public class KnownHostsTests
{
    private static async Task<SecureChannel> ConnectWith(Loopback loopback, SigningKey serverKey, IServerTrust trust)
    {
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        Task<SecureChannel> accept = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions(identity: serverKey));
        try
        {
            SecureChannel client = await SecureChannel.ConnectAsync(c, new ClientChannelOptions(trust)).WithTimeout();
            await (await accept.WithTimeout()).DisposeAsync();
            return client;
        }
        finally
        {
            _ = accept.ContinueWith(t => t.Exception, TaskScheduler.Default);
        }
    }

    [Fact]
    public async Task Trust_on_first_use_then_match_then_loud_mismatch()
    {
        using Loopback loopback = new();
        using TempDirectory temp = new();
        using SigningKey serverKey = SignatureAlgorithms.Ed25519.GenerateKey();
        KnownHostsFile file = new(temp.File("dir/known_hosts"));

        await (await ConnectWith(loopback, serverKey, new KnownHostsTrust(file, loopback.HostPort) { TrustNew = true })).DisposeAsync();
        string line = Assert.Single(File.ReadAllLines(file.Path));
        Assert.Equal($"{loopback.HostPort} ed25519 {Convert.ToBase64String(serverKey.PublicKey)}", line);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.Path));

        // Second contact: known and matching, no flag needed.
        await (await ConnectWith(loopback, serverKey, new KnownHostsTrust(file, loopback.HostPort))).DisposeAsync();

        // The server's key changes: abort, naming the file and the line, even with --trust-new.
        using SigningKey impostor = SignatureAlgorithms.Ed25519.GenerateKey();
        var error = await Assert.ThrowsAsync<HostKeyMismatchException>(() =>
            ConnectWith(loopback, impostor, new KnownHostsTrust(file, loopback.HostPort) { TrustNew = true }));
        Assert.Contains("CHANGED", error.Message);
        Assert.Contains($"{file.Path} line 1", error.Message);
        Assert.Contains("remove line 1 of", error.Message);
        Assert.Contains($"parley known-hosts remove {loopback.HostPort}", error.Message);
        Assert.Contains(Fingerprint.Of(impostor.Algorithm, impostor.PublicKey), error.Message);
        Assert.Equal(1, error.LineNumber);
    }

    [Fact]
    public async Task The_server_is_told_when_a_client_refuses_its_changed_key()
    {
        using Loopback loopback = new();
        using TempDirectory temp = new();
        using SigningKey pinned = SignatureAlgorithms.Ed25519.GenerateKey();
        using SigningKey changed = SignatureAlgorithms.Ed25519.GenerateKey();
        KnownHostsFile file = new(temp.File("known_hosts"));
        file.Add(loopback.HostPort, new PeerIdentity(pinned.Algorithm, pinned.PublicKey.ToArray()));
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        Task<SecureChannel> accept = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions(identity: changed));
        await Assert.ThrowsAsync<HostKeyMismatchException>(() => SecureChannel.ConnectAsync(c, new ClientChannelOptions(new KnownHostsTrust(file, loopback.HostPort))).WithTimeout());
        var serverError = await Assert.ThrowsAsync<Parley.Protocol.ParleyProtocolException>(() => accept.WithTimeout());
        Assert.True(serverError.IsRemote);
        Assert.Equal(Parley.Protocol.ProtocolError.UntrustedPeer, serverError.Error);
    }

    [Fact]
    public async Task An_expected_fingerprint_admits_only_that_key()
    {
        using Loopback loopback = new();
        using TempDirectory temp = new();
        using SigningKey serverKey = SignatureAlgorithms.Ed25519.GenerateKey();
        KnownHostsFile file = new(temp.File("known_hosts"));
        string fingerprint = Fingerprint.Of(serverKey.Algorithm, serverKey.PublicKey);

        using SigningKey other = SignatureAlgorithms.Ed25519.GenerateKey();
        var refused = await Assert.ThrowsAsync<Parley.Protocol.ParleyProtocolException>(() =>
            ConnectWith(loopback, other, new KnownHostsTrust(file, loopback.HostPort) { ExpectedFingerprint = fingerprint }));
        Assert.Contains("not the expected", refused.Message);

        await (await ConnectWith(loopback, serverKey, new KnownHostsTrust(file, loopback.HostPort) { ExpectedFingerprint = fingerprint[7..] })).DisposeAsync();
        Assert.Single(File.ReadAllLines(file.Path));
    }

    [Fact]
    public async Task The_prompt_sees_the_fingerprint_and_its_answer_counts()
    {
        using Loopback loopback = new();
        using TempDirectory temp = new();
        using SigningKey serverKey = SignatureAlgorithms.EcdsaP256.GenerateKey();
        KnownHostsFile file = new(temp.File("known_hosts"));
        string? shown = null;
        KnownHostsTrust no = new(file, loopback.HostPort) { Prompt = (id, _) => { shown = id.Fingerprint; return ValueTask.FromResult(false); } };
        await Assert.ThrowsAsync<Parley.Protocol.ParleyProtocolException>(() => ConnectWith(loopback, serverKey, no));
        Assert.Equal(Fingerprint.Of(serverKey.Algorithm, serverKey.PublicKey), shown);
        Assert.False(File.Exists(file.Path));

        KnownHostsTrust yes = new(file, loopback.HostPort) { Prompt = (_, _) => ValueTask.FromResult(true) };
        await (await ConnectWith(loopback, serverKey, yes)).DisposeAsync();
        Assert.Contains("ecdsa-p256-sha256", File.ReadAllText(file.Path));
    }

    [Fact]
    public void Other_hosts_and_comments_are_ignored()
    {
        using TempDirectory temp = new();
        using SigningKey key = SignatureAlgorithms.Ed25519.GenerateKey();
        PeerIdentity identity = new(key.Algorithm, key.PublicKey.ToArray());
        File.WriteAllText(temp.File("known_hosts"), $"# comment\n\nother:1 ed25519 AAAA\nhost:2 ed25519 {identity.PublicKeyBase64}\n");
        KnownHostsFile file = new(temp.File("known_hosts"));
        Assert.Equal(new KnownHostLookup(KnownHostStatus.Match, 4, identity.Fingerprint), file.Lookup("host:2", identity));
        Assert.Equal(KnownHostStatus.Unknown, file.Lookup("host:3", identity).Status);
        Assert.Equal(KnownHostStatus.Mismatch, file.Lookup("other:1", identity).Status);
    }
}
