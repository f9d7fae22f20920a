using BenchmarkDotNet.Attributes;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Prekeys;
using Parley.EndToEnd.SenderKeys;
using Parley.EndToEnd.Session;

namespace Parley.Benchmarks;

/// <summary>
/// What one message to a 1,000-member group costs the sender's client (PROTOCOL.md §14): one
/// sender-key encryption (with its Ed25519 signature) against what it would cost without sender
/// keys, 1,000 pairwise Double Ratchet encryptions on established sessions.
/// </summary>
public class GroupFanOutBenchmarks
{
    public const int Members = 1000;

    private readonly byte[] _payload = new byte[1 + 16 + 100];
    private OwnSenderKey _senderKey = null!;
    private E2eSession[] _sessions = [];
    private IdentityKeyPair _alice = null!;
    private IdentityKeyPair _bob = null!;
    private SignedPrekeyPair _signed = null!;
    private KemPrekeyPair _kem = null!;

    [GlobalSetup]
    public void Setup()
    {
        _senderKey = OwnSenderKey.Generate(new byte[SenderKeyLimits.GroupIdSize]);
        _alice = IdentityKeyPair.Generate();
        _bob = IdentityKeyPair.Generate();
        _signed = SignedPrekeyPair.Generate(_bob, 1);
        _kem = KemPrekeyPair.Generate(_bob, 2, KemPrekeyKind.LastResort);
        PrekeyBundle bundle = new(_bob.PublicKey, _signed.Public, null, _kem.Public);
        _sessions = new E2eSession[Members];
        for (int i = 0; i < Members; i++)
        {
            // Established both ways, as a member's session is after the first exchange: type-2 messages only.
            E2eSession ours = E2eSession.Initiate(_alice, bundle);
            E2eSessionAcceptance accepted = E2eSession.Accept(_bob, _signed, null, _kem, ours.Encrypt(_payload));
            ours.Decrypt(accepted.Session.Encrypt(_payload));
            accepted.Session.Dispose();
            _sessions[i] = ours;
        }
    }

    [Benchmark(Baseline = true, Description = "sender key: 1 encryption for 1,000 members")]
    public int SenderKeyOnce() => _senderKey.Encrypt(_payload).Length;

    [Benchmark(Description = "pairwise: 1,000 Double Ratchet encryptions")]
    public int PairwiseThousand()
    {
        int bytes = 0;
        foreach (E2eSession session in _sessions)
        {
            bytes += session.Encrypt(_payload).Length;
        }
        return bytes;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (E2eSession session in _sessions)
        {
            session.Dispose();
        }
        _senderKey.Dispose();
        _kem.Dispose();
        _signed.Dispose();
        _alice.Dispose();
        _bob.Dispose();
    }
}
