// The one error vocabulary of the end-to-end layer (libsignal's SignalProtocolError is the model):
// each case names what went wrong without carrying key material or plaintext. At the cipher level
// a forged, corrupted or misaddressed ciphertext is one case (DecryptionFailed), on purpose.
namespace Parley.EndToEnd;

public enum E2eError
{
    /// <summary>An encoding is truncated, too long, has trailing bytes or an impossible field.</summary>
    MalformedData = 1,

    /// <summary>A version byte this implementation does not speak.</summary>
    UnsupportedVersion,

    /// <summary>A signature over an identity binding or a prekey does not verify.</summary>
    InvalidSignature,

    /// <summary>An X25519 public key is degenerate (low order: the agreement would be all zero).</summary>
    InvalidPublicKey,

    /// <summary>An ML-KEM-768 encapsulation key or ciphertext has the wrong length or fails the FIPS 203 modulus check.</summary>
    InvalidKemKey,

    /// <summary>The prekeys handed to the responder are not the ones the initial message names.</summary>
    PrekeyMismatch,

    /// <summary>The AEAD tag did not verify: forged, tampered, truncated or for another session.</summary>
    DecryptionFailed,

    /// <summary>This message was already decrypted (or its key was discarded); it is not decrypted twice.</summary>
    DuplicateMessage,

    /// <summary>Decrypting would skip more message keys than <see cref="Ratchet.RatchetLimits.MaxSkip"/>.</summary>
    TooManySkippedMessages,

    /// <summary>A message of a kind the session cannot take in its current state.</summary>
    UnexpectedMessage,

    /// <summary>An initial message that belongs to a different session (another ephemeral key).</summary>
    SessionMismatch,

    /// <summary>A counter would overflow; the session must be replaced.</summary>
    CounterExhausted,

    /// <summary>An identity key pinned for another user's device, offered under this user's name (PROTOCOL.md §13.10 "Trust").</summary>
    IdentityOfAnotherUser,
}
