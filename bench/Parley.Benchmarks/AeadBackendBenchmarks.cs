using BenchmarkDotNet.Attributes;
using Parley.Crypto.Aead;

namespace Parley.Benchmarks;

/// <summary>
/// One AEAD seal through libsodium (the key kept expanded) and through System.Security.Cryptography,
/// same key, nonce and message: the measurement behind docs/decisions/0011.
/// Run: --filter '*AeadBackend*' --job short.
/// </summary>
[MemoryDiagnoser]
public class AeadBackendBenchmarks
{
    private AeadKey _libsodium = null!;
    private AeadKey _platform = null!;
    private byte[] _plaintext = null!;
    private byte[] _ciphertext = null!;
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _associatedData = new byte[5];

    [Params("aes-256-gcm", "chacha20-poly1305")]
    public string Suite { get; set; } = "";

    /// <summary>320 B: a 256-byte chat message with its messenger encoding; 64 KiB: a file chunk's record.</summary>
    [Params(320, 4_096, 16_384, 65_536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        AeadAlgorithm algorithm = AeadAlgorithms.Get(Suite);
        byte[] key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        _libsodium = algorithm.CreateKey(key);
        _platform = algorithm switch
        {
            Aes256GcmAlgorithm aes => aes.CreatePlatformKey(key),
            ChaCha20Poly1305Algorithm chacha => chacha.CreatePlatformKey(key),
            _ => throw new InvalidOperationException(Suite),
        };
        _plaintext = new byte[Size];
        _ciphertext = new byte[algorithm.CiphertextLength(Size)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _libsodium.Dispose();
        _platform.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Platform() => _platform.Seal(_nonce, _plaintext, _associatedData, _ciphertext);

    [Benchmark]
    public void Libsodium() => _libsodium.Seal(_nonce, _plaintext, _associatedData, _ciphertext);
}
