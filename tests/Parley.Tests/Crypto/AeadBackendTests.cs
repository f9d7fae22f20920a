using System.Security.Cryptography;
using Parley.Crypto.Aead;
using Parley.Crypto.Interop;

namespace Parley.Tests.Crypto;

/// <summary>
/// The libsodium keys (the fast path) and the System.Security.Cryptography keys (the fallback)
/// must be interchangeable: the same bytes sealed, each opening the other's, forgeries refused.
/// </summary>
public class AeadBackendTests
{
    public static TheoryData<string, int> Cases()
    {
        TheoryData<string, int> cases = [];
        foreach (string suite in new[] { "aes-256-gcm", "chacha20-poly1305" })
        {
            foreach (int size in new[] { 0, 1, 15, 16, 17, 320, 4_095, 4_096, 16_384, 65_536 })
            {
                cases.Add(suite, size);
            }
        }
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Libsodium_and_the_platform_seal_the_same_bytes_and_open_each_others(string suite, int size)
    {
        AeadAlgorithm algorithm = AeadAlgorithms.Get(suite);
        byte[] key = RandomNumberGenerator.GetBytes(32);
        byte[] nonce = RandomNumberGenerator.GetBytes(12);
        byte[] ad = RandomNumberGenerator.GetBytes(13);
        byte[] message = RandomNumberGenerator.GetBytes(size);
        using AeadKey fast = algorithm.CreateKey(key);
        using AeadKey platform = PlatformKey(algorithm, key);

        byte[] sealedFast = new byte[algorithm.CiphertextLength(size)];
        byte[] sealedPlatform = new byte[algorithm.CiphertextLength(size)];
        fast.Seal(nonce, message, ad, sealedFast);
        platform.Seal(nonce, message, ad, sealedPlatform);
        Assert.Equal(sealedPlatform, sealedFast);

        byte[] opened = new byte[size];
        Assert.True(fast.TryOpen(nonce, sealedPlatform, ad, opened, out int written));
        Assert.Equal(message, opened[..written]);
        Assert.True(platform.TryOpen(nonce, sealedFast, ad, opened, out written));
        Assert.Equal(message, opened[..written]);
    }

    [Theory]
    [InlineData("aes-256-gcm")]
    [InlineData("chacha20-poly1305")]
    public void A_changed_byte_anywhere_is_refused_and_nothing_of_the_plaintext_is_left(string suite)
    {
        AeadAlgorithm algorithm = AeadAlgorithms.Get(suite);
        byte[] nonce = RandomNumberGenerator.GetBytes(12);
        byte[] message = RandomNumberGenerator.GetBytes(64);
        using AeadKey key = algorithm.CreateKey(RandomNumberGenerator.GetBytes(32));
        byte[] sealedBytes = new byte[algorithm.CiphertextLength(message.Length)];
        key.Seal(nonce, message, "ad"u8, sealedBytes);
        for (int i = 0; i < sealedBytes.Length; i++)
        {
            byte[] forged = (byte[])sealedBytes.Clone();
            forged[i] ^= 0x01;
            byte[] opened = new byte[message.Length];
            Assert.False(key.TryOpen(nonce, forged, "ad"u8, opened, out _));
            Assert.All(opened, b => Assert.Equal(0, b));
        }
        Assert.False(key.TryOpen(nonce, sealedBytes, "da"u8, new byte[message.Length], out _));
    }

    [Fact]
    public void Aes_gcm_runs_on_libsodium_wherever_the_cpu_allows_it()
    {
        Assert.Equal(LibSodium.Aes256GcmAvailable ? "libsodium" : "platform", Aes256GcmAlgorithm.Backend);
        // A change that silently lost the fast path on a CPU that has AES-NI and CLMUL would show here.
        bool cpuAllows = System.Runtime.Intrinsics.X86.Aes.IsSupported && System.Runtime.Intrinsics.X86.Pclmulqdq.IsSupported;
        Assert.True(LibSodium.Aes256GcmAvailable || !cpuAllows, "the CPU has AES-NI and CLMUL but libsodium's AES-256-GCM was not available");
    }

    private static AeadKey PlatformKey(AeadAlgorithm algorithm, byte[] key) => algorithm switch
    {
        Aes256GcmAlgorithm aes => aes.CreatePlatformKey(key),
        ChaCha20Poly1305Algorithm chacha => chacha.CreatePlatformKey(key),
        _ => throw new ArgumentException(algorithm.Name),
    };
}
