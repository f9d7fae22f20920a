// PROTOCOL.md §4 and §8: between its ServerHello and the client's Finished the server reads only
// a ClientIdentity record, a Finished record or a plaintext alert. Their largest legal sizes
// follow from the spec, so an unauthenticated peer cannot make the server reserve a full
// record's worth of memory before it has proved anything.
using Parley.Crypto.Aead;
using Parley.Protocol.Handshake;

namespace Parley.Protocol;

public static class HandshakeRecordLimits
{
    /// <summary>The longest name of §1: a u8 length and up to 32 bytes.</summary>
    private const int MaxEncodedName = 1 + 32;

    /// <summary>The largest identity key of §2.3: an uncompressed P-256 point.</summary>
    private const int MaxIdentityKey = 65;

    /// <summary>Both signature algorithms of §2.3 sign in 64 bytes.</summary>
    private const int MaxSignature = 64;

    /// <summary>ClientIdentity (§5.7): name || opaque16 identity_key || opaque16 signature.</summary>
    public const int MaxClientIdentityPayload = MaxEncodedName + 2 + MaxIdentityKey + 2 + MaxSignature;

    /// <summary>Finished (§5.4): verify_data, an HMAC-SHA256.</summary>
    public const int FinishedPayload = 32;

    /// <summary>A plaintext alert message (§5.6): type || code || reason_length || reason.</summary>
    public const int MaxPlaintextAlert = 1 + 1 + 1 + Alert.MaxReasonBytes;

    /// <summary>The largest frame body the server accepts after its ServerHello and before the client's Finished.</summary>
    public static int MaxBodyBeforeFinished(AeadAlgorithm suite) =>
        Math.Max(MaxPlaintextAlert, 1 + suite.CiphertextLength(Math.Max(MaxClientIdentityPayload, FinishedPayload)));
}
