using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

public class HandshakeTests
{
    public static TheoryData<string, string> GroupsAndSuites()
    {
        TheoryData<string, string> data = [];
        foreach (KeyAgreementAlgorithm g in KeyAgreementAlgorithms.All)
        {
            foreach (AeadAlgorithm s in AeadAlgorithms.All)
            {
                data.Add(g.Name, s.Name);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GroupsAndSuites))]
    public void Every_group_and_suite_completes_and_carries_data_both_ways(string groupName, string suiteName)
    {
        KeyAgreementAlgorithm group = KeyAgreementAlgorithms.Get(groupName);
        AeadAlgorithm suite = AeadAlgorithms.Get(suiteName);
        (SecureSession client, SecureSession server, PeerIdentity identity) = HandshakeHarness.Run(
            HandshakeHarness.ClientOptions(group, suite), HandshakeHarness.ServerOptions(group, suite));
        using (client)
        using (server)
        {
            Assert.Equal(groupName, client.Group);
            Assert.Equal(suiteName, server.Suite.Name);
            Assert.Equal(HandshakeHarness.ServerKey.PublicKey.ToArray(), identity.PublicKey);
            Assert.Equal("hello server"u8.ToArray(), HandshakeHarness.Exchange(client, server, "hello server"u8.ToArray()));
            Assert.Equal("hello client"u8.ToArray(), HandshakeHarness.Exchange(server, client, "hello client"u8.ToArray()));
        }
    }

    [Fact]
    public void Ecdsa_server_identity_is_accepted()
    {
        using SigningKey ecdsa = SignatureAlgorithms.EcdsaP256.GenerateKey();
        (SecureSession client, SecureSession server, PeerIdentity identity) = HandshakeHarness.Run(
            HandshakeHarness.ClientOptions(), HandshakeHarness.ServerOptions(identity: ecdsa));
        Assert.Equal("ecdsa-p256-sha256", identity.Algorithm.Name);
        client.Dispose();
        server.Dispose();
    }

    [Fact]
    public void Server_preference_picks_the_suite_and_the_clients_share_is_used_when_acceptable()
    {
        ClientHandshakeOptions clientOptions = new() { Suites = [AeadAlgorithms.ChaCha20Poly1305, AeadAlgorithms.Aes256Gcm], ShareGroup = KeyAgreementAlgorithms.P256 };
        (SecureSession client, SecureSession server, _) = HandshakeHarness.Run(clientOptions, HandshakeHarness.ServerOptions());
        Assert.Equal("aes-256-gcm", client.Suite.Name);
        Assert.Equal("p256", client.Group);
        client.Dispose();
        server.Dispose();
    }

    [Fact]
    public void Hello_retry_moves_the_client_to_the_servers_group()
    {
        List<string> seen = [];
        ClientHandshakeOptions clientOptions = new() { ShareGroup = KeyAgreementAlgorithms.X25519 };
        ServerHandshakeOptions serverOptions = HandshakeHarness.ServerOptions(KeyAgreementAlgorithms.Modp2048);
        (SecureSession client, SecureSession server, _) = HandshakeHarness.Run(clientOptions, serverOptions, (name, body) => { seen.Add(name); return body; });
        Assert.Equal(["ClientHello", "HelloRetryRequest", "ClientHello2", "ServerHello", "Finished"], seen);
        Assert.Equal("modp2048", client.Group);
        Assert.Equal("retry"u8.ToArray(), HandshakeHarness.Exchange(client, server, "retry"u8.ToArray()));
    }

    [Fact]
    public void A_second_mismatched_share_fails()
    {
        ServerHandshake server = new(HandshakeHarness.ServerOptions(KeyAgreementAlgorithms.Modp2048));
        ClientHandshake client = new(new ClientHandshakeOptions { ShareGroup = KeyAgreementAlgorithms.X25519 });
        ClientHello first = ClientHello.Decode(HandshakeHarness.Body(client.Start()));
        Assert.Equal((byte)MessageType.HelloRetryRequest, HandshakeHarness.Body(server.ReadMessage(first.Encode()).Send!)[0]);
        // The retried hello again shares x25519 instead of the requested modp2048.
        var error = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(first.Encode()));
        Assert.Equal(ProtocolError.IllegalParameter, error.Error);
        Assert.Equal(ServerHandshakeState.Failed, server.State);
    }

    [Fact]
    public void A_retried_hello_that_changes_its_offer_fails()
    {
        ServerHandshake server = new(HandshakeHarness.ServerOptions(KeyAgreementAlgorithms.Modp2048));
        ClientHandshake client = new(new ClientHandshakeOptions { ShareGroup = KeyAgreementAlgorithms.X25519 });
        ClientHello first = ClientHello.Decode(HandshakeHarness.Body(client.Start()));
        byte[] retry = HandshakeHarness.Body(server.ReadMessage(first.Encode()).Send!);
        ClientHello second = ClientHello.Decode(HandshakeHarness.Body(client.ReadMessage(retry).Send!));
        var error = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage((second with { Suites = ["chacha20-poly1305"] }).Encode()));
        Assert.Equal(ProtocolError.IllegalParameter, error.Error);
    }

    [Fact]
    public void A_second_hello_retry_request_is_refused_by_the_client()
    {
        ClientHandshake client = new(new ClientHandshakeOptions { ShareGroup = KeyAgreementAlgorithms.X25519 });
        client.Start();
        client.ReadMessage(new HelloRetryRequest(1, "p256").Encode());
        var error = Assert.Throws<ParleyProtocolException>(() => client.ReadMessage(new HelloRetryRequest(1, "modp2048").Encode()));
        Assert.Equal(ProtocolError.UnexpectedMessage, error.Error);
    }

    [Fact]
    public void No_common_group_suite_or_signature_algorithm_each_fail_specifically()
    {
        static ProtocolError Fail(ClientHandshakeOptions c, ServerHandshakeOptions s) =>
            Assert.Throws<ParleyProtocolException>(() => HandshakeHarness.Run(c, s)).Error;

        Assert.Equal(ProtocolError.NoCommonGroup, Fail(HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.X25519), HandshakeHarness.ServerOptions(KeyAgreementAlgorithms.P256)));
        Assert.Equal(ProtocolError.NoCommonSuite, Fail(HandshakeHarness.ClientOptions(suite: AeadAlgorithms.ChaCha20Poly1305), HandshakeHarness.ServerOptions(suite: AeadAlgorithms.Aes256Gcm)));
        ClientHandshakeOptions ecdsaOnly = new() { SignatureAlgorithms = [SignatureAlgorithms.EcdsaP256] };
        Assert.Equal(ProtocolError.NoCommonSignatureAlgorithm, Fail(ecdsaOnly, HandshakeHarness.ServerOptions()));
    }

    [Fact]
    public void Unknown_names_in_an_offer_are_ignored_when_something_known_remains()
    {
        ClientHandshake client = new(HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.X25519));
        ClientHello hello = ClientHello.Decode(HandshakeHarness.Body(client.Start()));
        ClientHello extended = hello with { Groups = ["x448", .. hello.Groups], Suites = ["aegis-256", .. hello.Suites] };
        ServerHandshake server = new(HandshakeHarness.ServerOptions());
        byte[] serverHello = HandshakeHarness.Body(server.ReadMessage(extended.Encode()).Send!);
        Assert.Equal((byte)MessageType.ServerHello, serverHello[0]);
        // This client's own transcript holds the offer it really sent, so the server's signature
        // (over the extended offer) must not verify: any change to the offer is detected.
        var error = Assert.Throws<ParleyProtocolException>(() => client.ReadMessage(serverHello));
        Assert.Equal(ProtocolError.BadSignature, error.Error);
    }

    [Fact]
    public void A_downgraded_offer_is_detected_by_the_signature()
    {
        // A man in the middle strips aes-256-gcm and x25519 from the offer; the server happily
        // picks what is left, but its signature covers the offer it saw.
        var error = Assert.Throws<ParleyProtocolException>(() => HandshakeHarness.Run(
            HandshakeHarness.ClientOptions(),
            HandshakeHarness.ServerOptions(),
            (name, body) =>
            {
                if (name != "ClientHello")
                {
                    return body;
                }
                ClientHello hello = ClientHello.Decode(body);
                return (hello with { Suites = ["aes-256-cbc-hmac-sha256"] }).Encode();
            }));
        Assert.Equal(ProtocolError.BadSignature, error.Error);
    }

    [Fact]
    public void A_wrong_version_is_refused_with_unsupported_version()
    {
        ClientHandshake client = new();
        byte[] hello = HandshakeHarness.Body(client.Start());
        hello[2] = 2; // version 0x0002
        ServerHandshake server = new(HandshakeHarness.ServerOptions());
        var error = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(hello));
        Assert.Equal(ProtocolError.UnsupportedVersion, error.Error);
        Assert.Contains("version 2", error.Message);
    }

    public static TheoryData<string, string> InvalidShares() => new()
    {
        { "x25519", new string('0', 64) },
        { "x25519", "0100000000000000000000000000000000000000000000000000000000000000" },
        { "p256", "04" + new string('0', 128) },
        { "p256", "04" + new string('1', 128) },
        { "modp2048", new string('0', 512) },
        { "modp2048", new string('0', 510) + "01" },
        { "modp2048", new string('f', 512) },
    };

    [Theory]
    [MemberData(nameof(InvalidShares))]
    public void Invalid_client_key_shares_are_refused(string group, string shareHex)
    {
        ClientHandshake client = new(HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.Get(group)));
        ClientHello hello = ClientHello.Decode(HandshakeHarness.Body(client.Start())) with { KeyShare = Convert.FromHexString(shareHex) };
        ServerHandshake server = new(HandshakeHarness.ServerOptions());
        var error = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(hello.Encode()));
        Assert.Equal(ProtocolError.InvalidPublicKey, error.Error);
    }

    [Fact]
    public void Wycheproof_invalid_p256_points_are_refused_as_key_shares()
    {
        int count = 0;
        foreach ((_, var test) in Vectors.WycheproofTests("ecdh_secp256r1_ecpoint_test.json").Where(t => t.Test.Result() != "valid"))
        {
            ClientHandshake client = new(HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.P256));
            ClientHello hello = ClientHello.Decode(HandshakeHarness.Body(client.Start())) with { KeyShare = test.Hex("public") };
            ServerHandshake server = new(HandshakeHarness.ServerOptions());
            var error = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(hello.Encode()));
            Assert.Equal(ProtocolError.InvalidPublicKey, error.Error);
            count++;
        }
        Assert.Equal(25, count);
    }

    [Fact]
    public void The_client_refuses_an_invalid_server_share_even_with_a_valid_signature()
    {
        // A hostile server signs a low-order share: the signature verifies, the share does not.
        ClientHandshake client = new(HandshakeHarness.ClientOptions(KeyAgreementAlgorithms.X25519));
        byte[] clientHello = HandshakeHarness.Body(client.Start());
        ServerHello unsigned = new(1, new byte[32], "x25519", "aes-256-gcm", new byte[32], "ed25519", HandshakeHarness.ServerKey.PublicKey.ToArray(), []);
        Transcript transcript = new();
        transcript.Add(clientHello);
        byte[] signature = HandshakeHarness.ServerKey.Sign(KeySchedule.ServerSignatureInput(transcript.HashWith(unsigned.SignedPart())));
        var error = Assert.Throws<ParleyProtocolException>(() => client.ReadMessage((unsigned with { Signature = signature }).Encode()));
        Assert.Equal(ProtocolError.InvalidPublicKey, error.Error);
        Assert.Equal(ClientHandshakeState.Failed, client.State);
    }

    [Fact]
    public void A_client_alert_during_the_handshake_reaches_the_server_as_a_remote_error()
    {
        ClientHandshake client = new();
        ServerHandshake server = new(HandshakeHarness.ServerOptions());
        byte[] serverHello = HandshakeHarness.Body(server.ReadMessage(HandshakeHarness.Body(client.Start())).Send!);
        client.ReadMessage(serverHello);
        byte[] alert = HandshakeHarness.Body(client.Reject(ProtocolError.UntrustedPeer, "unknown host key"));
        var error = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(alert));
        Assert.True(error.IsRemote);
        Assert.Equal(ProtocolError.UntrustedPeer, error.Error);
        Assert.Contains("unknown host key", error.Message);
    }

    [Fact]
    public void Messages_out_of_order_are_unexpected()
    {
        ServerHandshake server = new(HandshakeHarness.ServerOptions());
        Assert.Equal(ProtocolError.UnexpectedMessage, Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(new HelloRetryRequest(1, "x25519").Encode())).Error);
        ClientHandshake client = new();
        Assert.Throws<InvalidOperationException>(() => client.ReadMessage([2]));
        client.Start();
        Assert.Equal(ProtocolError.UnexpectedMessage, Assert.Throws<ParleyProtocolException>(() => client.ReadMessage([0x01, 0, 1])).Error);
        Assert.Throws<InvalidOperationException>(() => client.Confirm());
    }
}
