using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>Mutual authentication: the ClientIdentity record of PROTOCOL.md §5.7.</summary>
public class ClientIdentityTests
{
    private static (ClientHandshake Client, ServerHandshake Server, ClientHandshakeResult Result) UpToConfirm(SigningKey? clientKey, bool require)
    {
        ClientHandshake client = new(new ClientHandshakeOptions { Identity = clientKey });
        ServerHandshake server = new(HandshakeHarness.ServerOptions() with { RequireClientIdentity = require });
        byte[] serverHello = HandshakeHarness.Body(server.ReadMessage(HandshakeHarness.Body(client.Start())).Send!);
        client.ReadMessage(serverHello);
        return (client, server, client.Confirm());
    }

    private static List<byte[]> Frames(byte[] bytes) => HandshakeHarness.SplitFrames(bytes).Select(HandshakeHarness.Body).ToList();

    [Theory]
    [InlineData("ed25519")]
    [InlineData("ecdsa-p256-sha256")]
    public void Both_sides_learn_the_others_proven_key(string algorithm)
    {
        using SigningKey clientKey = SignatureAlgorithms.Get(algorithm).GenerateKey();
        (_, ServerHandshake server, ClientHandshakeResult result) = UpToConfirm(clientKey, require: true);
        List<byte[]> flight = Frames(result.Send);
        Assert.Equal(2, flight.Count);
        Assert.Equal((byte)MessageType.ClientIdentity, flight[0][0]);
        Assert.Null(server.ReadMessage(flight[0]).Session);
        ServerHandshakeStep done = server.ReadMessage(flight[1]);
        Assert.NotNull(done.Session);
        Assert.Equal(clientKey.PublicKey.ToArray(), done.ClientIdentity!.PublicKey);
        Assert.Equal(algorithm, done.ClientIdentity.Algorithm.Name);
    }

    [Fact]
    public void A_server_that_requires_an_identity_refuses_a_bare_finished()
    {
        (_, ServerHandshake server, ClientHandshakeResult result) = UpToConfirm(null, require: true);
        var error = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(Frames(result.Send)[0]));
        Assert.Equal(ProtocolError.ClientIdentityRequired, error.Error);
    }

    [Fact]
    public void A_server_that_does_not_ask_refuses_an_unexpected_identity()
    {
        using SigningKey clientKey = SignatureAlgorithms.Ed25519.GenerateKey();
        (_, ServerHandshake server, ClientHandshakeResult result) = UpToConfirm(clientKey, require: false);
        Assert.Equal(ProtocolError.UnexpectedMessage, Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(Frames(result.Send)[0])).Error);
    }

    [Fact]
    public void An_identity_signature_from_another_session_is_refused()
    {
        // Session 1 records the client's genuine signature; session 2 replays it (what a relay
        // that saw session 1 could try). The signature covers TH, so it fails in session 2.
        using SigningKey real = SignatureAlgorithms.Ed25519.GenerateKey();
        byte[]? captured = null;
        using ScriptedKey recording = new(real, data => captured = real.Sign(data));
        (_, ServerHandshake first, ClientHandshakeResult one) = UpToConfirm(recording, require: true);
        first.ReadMessage(Frames(one.Send)[0]);
        Assert.Equal(ServerHandshakeState.WaitFinished, first.State); // genuine in its own session
        Assert.NotNull(captured);

        using ScriptedKey replaying = new(real, _ => captured!);
        (_, ServerHandshake second, ClientHandshakeResult two) = UpToConfirm(replaying, require: true);
        var error = Assert.Throws<ParleyProtocolException>(() => second.ReadMessage(Frames(two.Send)[0]));
        Assert.Equal(ProtocolError.BadSignature, error.Error);
        Assert.Equal(ServerHandshakeState.Failed, second.State);
    }

    /// <summary>A signing key whose signatures come from a script: to forge what an attacker would send.</summary>
    private sealed class ScriptedKey(SigningKey inner, Func<byte[], byte[]> sign) : SigningKey(inner.Algorithm, inner.PublicKey.ToArray())
    {
        private protected override byte[] SignCore(ReadOnlySpan<byte> data) => sign(data.ToArray());

        private protected override byte[] ExportPrivateKeyCore() => throw new NotSupportedException();

        private protected override void DisposeCore()
        {
        }
    }
}
