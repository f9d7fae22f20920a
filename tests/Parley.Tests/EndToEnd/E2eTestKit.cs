// Shared fixtures for the end-to-end tests: a seeded random stream (to pin keys and ML-KEM
// encapsulation) and a responder device with its private prekeys and the bundle it publishes.
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Prekeys;

namespace Parley.Tests.EndToEnd;

/// <summary>SHA-256(label || u32 counter) blocks, concatenated: deterministic, for vectors only.</summary>
internal sealed class SeededRandom(string label) : IE2eRandom
{
    private readonly byte[] _label = Encoding.UTF8.GetBytes(label);
    private readonly Queue<byte> _pending = new();
    private uint _counter;

    public void Fill(Span<byte> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            if (_pending.Count == 0)
            {
                byte[] input = new byte[_label.Length + 4];
                _label.CopyTo(input, 0);
                BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(_label.Length), _counter++);
                foreach (byte b in SHA256.HashData(input))
                {
                    _pending.Enqueue(b);
                }
            }
            destination[i] = _pending.Dequeue();
        }
    }
}

/// <summary>A responder device: identity, signed prekey, optional one-time prekey, ML-KEM prekey.</summary>
internal sealed class ResponderDevice : IDisposable
{
    public ResponderDevice(IE2eRandom? random = null, bool withOneTimePrekey = true, KemPrekeyKind kemKind = KemPrekeyKind.OneTime)
    {
        random ??= SystemE2eRandom.Instance;
        Identity = IdentityKeyPair.Generate(random);
        SignedPrekey = SignedPrekeyPair.Generate(Identity, 7, random);
        OneTimePrekey = withOneTimePrekey ? OneTimePrekeyPair.Generate(42, random) : null;
        KemPrekey = KemPrekeyPair.Generate(Identity, 9, kemKind, random);
    }

    public IdentityKeyPair Identity { get; }
    public SignedPrekeyPair SignedPrekey { get; }
    public OneTimePrekeyPair? OneTimePrekey { get; }
    public KemPrekeyPair KemPrekey { get; }

    public PrekeyBundle Bundle => new(Identity.PublicKey, SignedPrekey.Public, OneTimePrekey?.Public, KemPrekey.Public);

    public void Dispose()
    {
        Identity.Dispose();
        SignedPrekey.Dispose();
        OneTimePrekey?.Dispose();
        KemPrekey.Dispose();
    }
}

internal static class E2eTestKit
{
    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    /// <summary>Flips one bit of <paramref name="data"/> at <paramref name="index"/> (negative: from the end).</summary>
    public static byte[] Flip(byte[] data, int index)
    {
        byte[] copy = (byte[])data.Clone();
        copy[index < 0 ? copy.Length + index : index] ^= 0x01;
        return copy;
    }
}
