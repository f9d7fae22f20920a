// The Double Ratchet's named bounds (libsignal's consts.rs is the model). Each says what happens
// past it, so nothing is dropped silently.
namespace Parley.EndToEnd.Ratchet;

public static class RatchetLimits
{
    /// <summary>
    /// MAX_SKIP (Double Ratchet rev 4 §3.2): the most message keys one incoming message may make us
    /// derive and store in a single chain. A message further ahead is refused with
    /// <see cref="E2eError.TooManySkippedMessages"/> and changes nothing; it bounds the work an
    /// unauthenticated header can cause.
    /// </summary>
    public const int MaxSkip = 1000;

    /// <summary>
    /// The most skipped message keys kept across all chains. When storing one more would pass it,
    /// the oldest is discarded; its message, if it ever comes, is reported as
    /// <see cref="E2eError.DuplicateMessage"/> (already delivered or given up on).
    /// </summary>
    public const int MaxSkippedMessageKeys = 2000;

    /// <summary>How many past receiving ratchet keys are remembered, to tell a replay from a new chain.</summary>
    public const int MaxRetiredReceivingChains = 8;

    /// <summary>The largest plaintext one envelope carries.</summary>
    public const int MaxPlaintextSize = 256 * 1024;
}
