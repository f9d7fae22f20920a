using BenchmarkDotNet.Attributes;
using Parley.Crypto.KeyAgreement;
using NSecX25519 = NSec.Cryptography.KeyAgreementAlgorithm;

namespace Parley.Benchmarks;

/// <summary>
/// X25519 key generation and agreement (with the peer-key validation of RFC 7748 §6.1) through
/// libcrypto's EVP_PKEY path, through libsodium directly, and through NSec's objects over the same
/// libsodium: the measurement behind docs/decisions/0013. Run: --filter '*X25519Backend*' --job short.
/// </summary>
[MemoryDiagnoser]
public class X25519BackendBenchmarks
{
    private readonly KeyAgreementAlgorithm _libcrypto = new X25519Native();
    private readonly KeyAgreementAlgorithm _sodium = new X25519Sodium();
    private KeyAgreementPrivateKey _libcryptoKey = null!;
    private KeyAgreementPrivateKey _sodiumKey = null!;
    private NSec.Cryptography.Key _nsecKey = null!;
    private byte[] _peer = null!;

    [GlobalSetup]
    public void Setup()
    {
        byte[] scalar = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        _libcryptoKey = _libcrypto.ImportPrivateKey(scalar);
        _sodiumKey = _sodium.ImportPrivateKey(scalar);
        _nsecKey = NSec.Cryptography.Key.Import(NSecX25519.X25519, scalar, NSec.Cryptography.KeyBlobFormat.RawPrivateKey);
        using KeyAgreementPrivateKey peer = _libcrypto.GenerateKey();
        _peer = peer.PublicKey.ToArray();
        using SharedSecret a = _libcrypto.Agree(_libcryptoKey, _peer);
        using SharedSecret b = _sodium.Agree(_sodiumKey, _peer);
        if (!_libcryptoKey.PublicKey.SequenceEqual(_sodiumKey.PublicKey) || !a.Secret.SequenceEqual(b.Secret))
        {
            throw new InvalidOperationException("libsodium and libcrypto disagree on an X25519 key.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _libcryptoKey.Dispose();
        _sodiumKey.Dispose();
        _nsecKey.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void LibCryptoAgree()
    {
        using SharedSecret secret = _libcrypto.Agree(_libcryptoKey, _peer);
    }

    [Benchmark]
    public void SodiumAgree()
    {
        using SharedSecret secret = _sodium.Agree(_sodiumKey, _peer);
    }

    /// <summary>NSec's way: import the peer key, agree into a guarded-memory SharedSecret (null for a low-order point).</summary>
    [Benchmark]
    public void NSecAgree()
    {
        NSec.Cryptography.PublicKey peer = NSec.Cryptography.PublicKey.Import(NSecX25519.X25519, _peer, NSec.Cryptography.KeyBlobFormat.RawPublicKey);
        using NSec.Cryptography.SharedSecret? secret = NSecX25519.X25519.Agree(_nsecKey, peer);
    }

    [Benchmark]
    public void LibCryptoGenerateKey()
    {
        using KeyAgreementPrivateKey key = _libcrypto.GenerateKey();
    }

    [Benchmark]
    public void SodiumGenerateKey()
    {
        using KeyAgreementPrivateKey key = _sodium.GenerateKey();
    }

    [Benchmark]
    public byte[] NSecGenerateKey()
    {
        using NSec.Cryptography.Key key = NSec.Cryptography.Key.Create(NSecX25519.X25519);
        return key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey);
    }
}
