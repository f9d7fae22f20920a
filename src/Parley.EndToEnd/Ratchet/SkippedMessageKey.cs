// A message key derived ahead of its message (it was lost or arrived out of order), stored under
// the ratchet key and message number it belongs to, and removed when used.
using System.Security.Cryptography;

namespace Parley.EndToEnd.Ratchet;

internal sealed class SkippedMessageKey(byte[] ratchetKey, uint messageNumber, MessageKey key) : IDisposable
{
    public byte[] RatchetKey { get; } = ratchetKey;

    public uint MessageNumber { get; } = messageNumber;

    public MessageKey Key { get; } = key;

    public bool Matches(ReadOnlySpan<byte> ratchetKey, uint messageNumber) =>
        MessageNumber == messageNumber && CryptographicOperations.FixedTimeEquals(RatchetKey, ratchetKey);

    public SkippedMessageKey Clone() => new(RatchetKey.ToArray(), MessageNumber, Key.Clone());

    public void Dispose() => Key.Dispose();
}
