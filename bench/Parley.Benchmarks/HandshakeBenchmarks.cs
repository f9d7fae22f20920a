using BenchmarkDotNet.Attributes;
using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Handshake;

namespace Parley.Benchmarks;

/// <summary>
/// One full handshake, client and server state machines together, in memory: the CPU cost a
/// connection pays (2 key generations, 2 agreements, 1 signature, 1 verification, HKDF, AEAD).
/// </summary>
[MemoryDiagnoser]
public class HandshakeBenchmarks
{
    private SigningKey _identity = null!;
    private ClientHandshakeOptions _client = null!;
    private ServerHandshakeOptions _server = null!;

    [Params("x25519", "p256", "modp2048")]
    public string Group { get; set; } = "x25519";

    [GlobalSetup]
    public void Setup()
    {
        _identity = SignatureAlgorithms.Ed25519.GenerateKey();
        KeyAgreementAlgorithm group = KeyAgreementAlgorithms.Get(Group);
        _client = new ClientHandshakeOptions { Groups = [group], Suites = [AeadAlgorithms.Aes256Gcm] };
        _server = new ServerHandshakeOptions(_identity) { Groups = [group], Suites = [AeadAlgorithms.Aes256Gcm] };
    }

    [Benchmark]
    public SecureSession FullHandshake()
    {
        using ClientHandshake client = new(_client);
        using ServerHandshake server = new(_server);
        byte[] hello = client.Start();
        byte[] serverHello = server.ReadMessage(hello.AsSpan(4)).Send!;
        client.ReadMessage(serverHello.AsSpan(4));
        ClientHandshakeResult result = client.Confirm();
        SecureSession session = server.ReadMessage(result.Send.AsSpan(4)).Session!;
        result.Session.Dispose();
        session.Dispose();
        return session;
    }
}
