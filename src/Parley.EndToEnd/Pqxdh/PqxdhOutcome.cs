// What one side of PQXDH ends with: SK (opaque, only usable to seed the ratchet), the associated
// data AD = Encode(IK_A) || Encode(IK_B), and the peer's identity. The initiator also gets the
// header to send; the responder learns which prekeys were consumed. Dispose wipes SK.
using Parley.Crypto.Kdf;
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Pqxdh;

public sealed class PqxdhOutcome : IDisposable
{
    private readonly byte[] _associatedData;

    internal PqxdhOutcome(PseudoRandomKey sharedKey, byte[] associatedData, IdentityPublicKey theirIdentity, PqxdhInitialHeader header, ConsumedPrekeys consumed)
    {
        SharedKey = sharedKey;
        _associatedData = associatedData;
        TheirIdentity = theirIdentity;
        Header = header;
        Consumed = consumed;
    }

    /// <summary>SK from PqxdhKdf.DerivePqxdh.</summary>
    internal PseudoRandomKey SharedKey { get; }

    public ReadOnlySpan<byte> AssociatedData => _associatedData;

    public IdentityPublicKey TheirIdentity { get; }

    /// <summary>The initial header (sent by the initiator, received by the responder).</summary>
    public PqxdhInitialHeader Header { get; }

    /// <summary>On the responder's side, the prekeys to delete; on the initiator's, none.</summary>
    public ConsumedPrekeys Consumed { get; }

    public void Dispose() => SharedKey.Dispose();

    public override string ToString() => $"{nameof(PqxdhOutcome)}({TheirIdentity})";
}
