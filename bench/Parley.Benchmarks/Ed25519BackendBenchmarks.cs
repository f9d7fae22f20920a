using BenchmarkDotNet.Attributes;
using Parley.Crypto.Signing;
using NSecEd25519 = NSec.Cryptography.SignatureAlgorithm;

namespace Parley.Benchmarks;

/// <summary>
/// Ed25519 through Parley's libcrypto P/Invoke path against NSec (libsodium), same key and message:
/// the measurement behind docs/decisions/0003. Run: --filter '*Ed25519Backend*' --job short.
/// </summary>
[MemoryDiagnoser]
public class Ed25519BackendBenchmarks
{
    private readonly byte[] _message = new byte[32];
    private SigningKey _parley = null!;
    private NSec.Cryptography.Key _nsec = null!;
    private NSec.Cryptography.PublicKey _nsecPublic = null!;
    private byte[] _signature = null!;

    [GlobalSetup]
    public void Setup()
    {
        byte[] seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        _parley = SignatureAlgorithms.Ed25519.ImportPrivateKey(seed);
        _nsec = NSec.Cryptography.Key.Import(NSecEd25519.Ed25519, seed, NSec.Cryptography.KeyBlobFormat.RawPrivateKey);
        _nsecPublic = _nsec.PublicKey;
        _signature = _parley.Sign(_message);
        if (!_signature.AsSpan().SequenceEqual(NSecEd25519.Ed25519.Sign(_nsec, _message)))
        {
            throw new InvalidOperationException("NSec and libcrypto disagree on an Ed25519 signature.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _parley.Dispose();
        _nsec.Dispose();
    }

    [Benchmark(Baseline = true)]
    public byte[] LibCryptoSign() => _parley.Sign(_message);

    [Benchmark]
    public byte[] NSecSign() => NSecEd25519.Ed25519.Sign(_nsec, _message);

    [Benchmark]
    public bool LibCryptoVerify() => SignatureAlgorithms.Ed25519.Verify(_parley.PublicKey, _message, _signature);

    [Benchmark]
    public bool NSecVerify() => NSecEd25519.Ed25519.Verify(_nsecPublic, _message, _signature);

    /// <summary>What a switch would cost: Parley's Verify takes the public key as bytes, so NSec must import it each call.</summary>
    [Benchmark]
    public bool NSecVerifyFromBytes() =>
        NSecEd25519.Ed25519.Verify(NSec.Cryptography.PublicKey.Import(NSecEd25519.Ed25519, _parley.PublicKey, NSec.Cryptography.KeyBlobFormat.RawPublicKey), _message, _signature);
}
