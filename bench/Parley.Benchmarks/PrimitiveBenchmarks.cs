using BenchmarkDotNet.Attributes;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;

namespace Parley.Benchmarks;

/// <summary>The primitives `openssl speed` measures, through our API, for a like-for-like ratio.</summary>
[MemoryDiagnoser]
public class PrimitiveBenchmarks
{
    private readonly Dictionary<string, (KeyAgreementPrivateKey Ours, byte[] TheirPublic)> _keys = [];
    private SigningKey _ed25519 = null!;
    private byte[] _signature = null!;
    private readonly byte[] _message = new byte[32];

    [Params("x25519", "p256", "modp2048")]
    public string Group { get; set; } = "x25519";

    [GlobalSetup]
    public void Setup()
    {
        KeyAgreementAlgorithm group = KeyAgreementAlgorithms.Get(Group);
        _keys[Group] = (group.GenerateKey(), group.GenerateKey().PublicKey.ToArray());
        _ed25519 = SignatureAlgorithms.Ed25519.GenerateKey();
        _signature = _ed25519.Sign(_message);
    }

    /// <summary>Peer-key validation plus the shared secret: what `openssl speed ecdh*/ffdh*` times.</summary>
    [Benchmark]
    public void Agree()
    {
        (KeyAgreementPrivateKey ours, byte[] theirs) = _keys[Group];
        using SharedSecret secret = ours.Algorithm.Agree(ours, theirs);
    }

    [Benchmark]
    public void GenerateKey()
    {
        using KeyAgreementPrivateKey key = KeyAgreementAlgorithms.Get(Group).GenerateKey();
    }

    [Benchmark]
    public byte[] Ed25519Sign() => _ed25519.Sign(_message);

    [Benchmark]
    public bool Ed25519Verify() => SignatureAlgorithms.Ed25519.Verify(_ed25519.PublicKey, _message, _signature);
}
