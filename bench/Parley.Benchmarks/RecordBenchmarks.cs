using BenchmarkDotNet.Attributes;
using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Handshake;

namespace Parley.Benchmarks;

/// <summary>Seal one record on one side and open it on the other: the record layer's whole per-message cost.</summary>
public class RecordBenchmarks
{
    private SecureSession _sender = null!;
    private SecureSession _receiver = null!;
    private byte[] _payload = null!;
    private byte[] _wire = null!;
    private byte[] _plaintext = null!;

    [Params("aes-256-gcm", "chacha20-poly1305", "aes-256-cbc-hmac-sha256")]
    public string Suite { get; set; } = "aes-256-gcm";

    [Params(64, 1024, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using SigningKey identity = SignatureAlgorithms.Ed25519.GenerateKey();
        AeadAlgorithm suite = AeadAlgorithms.Get(Suite);
        using ClientHandshake client = new(new ClientHandshakeOptions { Groups = [KeyAgreementAlgorithms.X25519], Suites = [suite] });
        using ServerHandshake server = new(new ServerHandshakeOptions(identity) { Suites = [suite] });
        byte[] serverHello = server.ReadMessage(client.Start().AsSpan(4)).Send!;
        client.ReadMessage(serverHello.AsSpan(4));
        ClientHandshakeResult result = client.Confirm();
        _receiver = server.ReadMessage(result.Send.AsSpan(4)).Session!;
        _sender = result.Session;
        _payload = new byte[Size];
        _wire = new byte[_sender.MaxSealedLength(Size)];
        _plaintext = new byte[Size + 64];
    }

    [Benchmark]
    public int SealAndOpen()
    {
        int written = _sender.Seal(MessageType.ApplicationData, _payload, _wire);
        int offset = 0, opened = 0;
        // Usually one frame; two when a key update is due.
        while (offset < written)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(_wire.AsSpan(offset));
            opened += _receiver.Open(_wire.AsSpan(offset + 4, length), _plaintext).Length;
            offset += 4 + length;
        }
        return opened;
    }
}
