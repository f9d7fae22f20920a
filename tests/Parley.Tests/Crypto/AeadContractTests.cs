using Parley.Crypto.Aead;

namespace Parley.Tests.Crypto;

/// <summary>Behaviour every suite must share, run over the registry.</summary>
public class AeadContractTests
{
    public static TheoryData<string> Suites() => new(AeadAlgorithms.All.Select(a => a.Name));

    private static (AeadKey Key, byte[] Nonce) Setup(string suite, byte seed = 7)
    {
        AeadAlgorithm algorithm = AeadAlgorithms.Get(suite);
        byte[] key = Enumerable.Range(0, algorithm.KeySize).Select(i => unchecked((byte)(i * seed))).ToArray();
        return (algorithm.CreateKey(key), new byte[AeadAlgorithm.NonceSize]);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Round_trips_every_length_around_block_boundaries(string suite)
    {
        (AeadKey key, byte[] nonce) = Setup(suite);
        using (key)
        {
            for (int length = 0; length <= 70; length++)
            {
                byte[] plaintext = Enumerable.Range(0, length).Select(i => unchecked((byte)i)).ToArray();
                byte[] aad = [1, 2, 3];
                byte[] ct = new byte[key.Algorithm.CiphertextLength(length)];
                key.Seal(nonce, plaintext, aad, ct);
                byte[] output = new byte[ct.Length];
                Assert.True(key.TryOpen(nonce, ct, aad, output, out int written));
                Assert.Equal(plaintext, output[..written]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Flipping_any_bit_fails_and_clears_the_output(string suite)
    {
        (AeadKey key, byte[] nonce) = Setup(suite);
        using (key)
        {
            byte[] plaintext = "attack at dawn, bring snacks"u8.ToArray();
            byte[] aad = [9, 9];
            byte[] ct = new byte[key.Algorithm.CiphertextLength(plaintext.Length)];
            key.Seal(nonce, plaintext, aad, ct);
            for (int bit = 0; bit < ct.Length * 8; bit++)
            {
                byte[] tampered = (byte[])ct.Clone();
                tampered[bit / 8] ^= (byte)(1 << (bit % 8));
                byte[] output = Enumerable.Repeat((byte)0xAA, ct.Length).ToArray();
                Assert.False(key.TryOpen(nonce, tampered, aad, output, out int written));
                Assert.Equal(0, written);
                Assert.All(output, b => Assert.Equal(0, b));
            }
            byte[] otherNonce = (byte[])nonce.Clone();
            otherNonce[^1] = 1;
            Assert.False(key.TryOpen(otherNonce, ct, aad, new byte[ct.Length], out _));
            Assert.False(key.TryOpen(nonce, ct, [9, 8], new byte[ct.Length], out _));
            Assert.False(key.TryOpen(nonce, ct[..^1], aad, new byte[ct.Length], out _));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void A_different_key_cannot_open(string suite)
    {
        (AeadKey key, byte[] nonce) = Setup(suite, 7);
        (AeadKey other, _) = Setup(suite, 3);
        using (key)
        using (other)
        {
            byte[] ct = new byte[key.Algorithm.CiphertextLength(5)];
            key.Seal(nonce, "hello"u8, [], ct);
            Assert.False(other.TryOpen(nonce, ct, [], new byte[ct.Length], out _));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Wrong_key_and_nonce_sizes_are_refused(string suite)
    {
        AeadAlgorithm algorithm = AeadAlgorithms.Get(suite);
        Assert.Throws<ArgumentException>(() => algorithm.CreateKey(new byte[algorithm.KeySize - 1]));
        (AeadKey key, _) = Setup(suite);
        using (key)
        {
            Assert.Throws<ArgumentException>(() => key.Seal(new byte[8], [], [], new byte[algorithm.CiphertextLength(0)]));
        }
    }
}
