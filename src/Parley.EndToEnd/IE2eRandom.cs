// The randomness the end-to-end core consumes, injected (sans-IO: no hidden global state), so
// that fixed-seed test vectors can pin every generated key and the ML-KEM encapsulation.
using System.Security.Cryptography;

namespace Parley.EndToEnd;

/// <summary>A source of random bytes; production code uses <see cref="SystemE2eRandom.Instance"/>.</summary>
public interface IE2eRandom
{
    void Fill(Span<byte> destination);
}

/// <summary>The operating system's CSPRNG (RandomNumberGenerator).</summary>
public sealed class SystemE2eRandom : IE2eRandom
{
    public static SystemE2eRandom Instance { get; } = new();

    private SystemE2eRandom()
    {
    }

    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
