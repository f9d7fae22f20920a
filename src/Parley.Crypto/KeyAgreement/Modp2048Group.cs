// RFC 3526 §3, the 2048-bit MODP group (IKE group 14): p = 2^2048 - 2^1984 - 1 + 2^64 · ([2^1918 π] + 124476), g = 2.
// p is a safe prime, so after excluding 0, 1 and p-1 every public value has order q or 2q.
//
// Private exponents are 256 bits: NIST SP 800-56A rev. 3 §5.6.1.1.1 asks for at least 2·s bits
// for a group of security strength s (s = 112 here), and RFC 7919 §5.2 recommends ≥ 225 bits
// for the 2048-bit group. A full-length exponent would cost ~8× more for no added security.
namespace Parley.Crypto.KeyAgreement;

internal static class Modp2048Group
{
    internal const string Name = "modp2048";
    internal const int ElementSize = 256;
    internal const int ExponentSize = 32;

    internal static readonly byte[] Prime = Convert.FromHexString(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1" +
        "29024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245" +
        "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D" +
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D" +
        "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9" +
        "DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
        "15728E5A8AACAA68FFFFFFFFFFFFFFFF");

    internal static readonly byte[] PrimeMinusOne = MinusOne(Prime);

    internal const int Generator = 2;

    /// <summary>Fails closed unless 2 ≤ y ≤ p-2 (y big-endian, exactly 256 bytes).</summary>
    internal static void ValidatePublicValue(ReadOnlySpan<byte> y)
    {
        // y < 2: every byte but the last is zero and the last is 0 or 1.
        if (y[..^1].IndexOfAnyExcept((byte)0) < 0 && y[^1] < 2)
        {
            throw new InvalidPublicKeyException(Name, "the value is 0 or 1 (must lie in [2, p-2])");
        }
        // y ≥ p-1 covers p-1 (order 2), p and anything above it.
        if (y.SequenceCompareTo(PrimeMinusOne) >= 0)
        {
            throw new InvalidPublicKeyException(Name, "the value is p-1 or larger (must lie in [2, p-2])");
        }
    }

    /// <summary>Exponents are 1 to 256 bytes and at least 2: x = 0 or 1 would give a public value of 1 or 2.</summary>
    internal static bool IsValidExponent(ReadOnlySpan<byte> x) =>
        x.Length is >= 1 and <= ElementSize && (x[..^1].IndexOfAnyExcept((byte)0) >= 0 || x[^1] >= 2);

    private static byte[] MinusOne(byte[] value)
    {
        byte[] result = (byte[])value.Clone();
        // p is odd, so subtracting one touches only the last byte.
        result[^1]--;
        return result;
    }
}
