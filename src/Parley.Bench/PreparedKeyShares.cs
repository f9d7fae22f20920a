// A login storm's clients stand for thousands of devices, each of which makes its ephemeral key
// share on its own CPU. In the one generator process that is one X25519 key generation per login
// on the generator's core (19.6 µs of ~183 per resumed login on BENCHMARKS §2 (o)'s machine), so
// the generator, not the server, could decide how fast logins arrive. So before a storm's clock
// starts, the generator makes the storm's key shares, one per login, each fresh from the system
// CSPRNG, and each handshake takes one and disposes it (wiping the scalar) as it would its own.
// Nothing is reused: a share taken is gone, and a handshake that finds none left (more handshakes
// than planned: a hello retry, a refused ticket) makes its own. The server's work per login is
// unchanged; the generator's CPU is still measured and reported (decision 0022, §2 (p)).
// `--make-shares-during-storms` runs a storm as before.
using Parley.Crypto.KeyAgreement;
using Parley.Protocol.Handshake;

namespace Parley.Bench;

internal sealed class PreparedKeyShares : HandshakeEntropy, IDisposable
{
    private readonly KeyAgreementPrivateKey?[] _shares;
    private readonly KeyAgreementAlgorithm _group;
    private int _taken;

    private PreparedKeyShares(KeyAgreementAlgorithm group, KeyAgreementPrivateKey?[] shares)
    {
        _group = group;
        _shares = shares;
    }

    /// <summary>Shares made but not yet taken.</summary>
    public int Remaining => Math.Max(0, _shares.Length - Volatile.Read(ref _taken));

    /// <summary>Makes <paramref name="count"/> key shares of <paramref name="group"/> now, for the handshakes to come.</summary>
    public static PreparedKeyShares Make(KeyAgreementAlgorithm group, int count)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        KeyAgreementPrivateKey?[] shares = new KeyAgreementPrivateKey?[count];
        for (int i = 0; i < count; i++)
        {
            shares[i] = group.GenerateKey();
        }
        return new PreparedKeyShares(group, shares);
    }

    /// <summary>Hands out <paramref name="shares"/> (made by <paramref name="group"/>), each once; for tests that watch what becomes of them.</summary>
    internal static PreparedKeyShares Of(KeyAgreementAlgorithm group, IEnumerable<KeyAgreementPrivateKey> shares) => new(group, [.. shares]);

    /// <summary>
    /// A prepared share while any is left, else a new one; the handshake owns (and disposes) it.
    /// A share is only ever handed out for the very implementation that made it.
    /// </summary>
    public override KeyAgreementPrivateKey NewKeyShare(KeyAgreementAlgorithm group) =>
        ReferenceEquals(group, _group) && Take() is { } share ? share : base.NewKeyShare(group);

    private KeyAgreementPrivateKey? Take()
    {
        if (Volatile.Read(ref _taken) >= _shares.Length)
        {
            return null;
        }
        int slot = Interlocked.Increment(ref _taken) - 1;
        return slot < _shares.Length ? Interlocked.Exchange(ref _shares[slot], null) : null;
    }

    /// <summary>Wipes the shares no handshake took; a handshake that asks later makes its own.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _taken, int.MaxValue / 2);
        for (int i = 0; i < _shares.Length; i++)
        {
            Interlocked.Exchange(ref _shares[i], null)?.Dispose();
        }
    }
}
