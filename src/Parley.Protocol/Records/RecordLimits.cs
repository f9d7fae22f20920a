namespace Parley.Protocol;

/// <summary>PROTOCOL.md §8: the limits each side enforces on records.</summary>
public sealed record RecordLimits
{
    /// <summary>Default maximum plaintext of one record: 1 MiB.</summary>
    public const int DefaultMaxPlaintextLength = 1 << 20;

    /// <summary>
    /// Default number of records sealed under one key before the sender moves to the next key.
    /// 2^20 records of up to 1 MiB keeps AES-GCM far inside its per-key limits (NIST SP 800-38D;
    /// RFC 8446 §5.5 allows 2^24.5 full-size records).
    /// </summary>
    public const ulong DefaultKeyUpdateInterval = 1UL << 20;

    /// <summary>
    /// KeyUpdate records a receiver opens in a row, with no other record between them (PROTOCOL.md
    /// §6.4); one more is unexpected_message. Each costs a key derivation and a new cipher context
    /// and produces nothing for the caller, so without a bound a peer streaming them (21 bytes each)
    /// kept one receive call, and the server thread it ran on, busy for as long as it liked. As
    /// BoringSSL's limit on KeyUpdates without application data. A sender never needs two in a row.
    /// </summary>
    public const int MaxKeyUpdatesInARow = 32;

    public static RecordLimits Default { get; } = new();

    public int MaxPlaintextLength { get; init; } = DefaultMaxPlaintextLength;

    public ulong KeyUpdateInterval { get; init; } = DefaultKeyUpdateInterval;

    /// <summary>
    /// The largest frame body a receiver skips rather than refuses (PROTOCOL.md §4): the biggest
    /// record any sender can seal, 16 MiB of plaintext plus the type byte and at most 64 bytes of
    /// AEAD expansion. Anything longer cannot be a record and ends the connection.
    /// </summary>
    public const int MaxSkippableFrameBodyLength = (16 << 20) + 1 + 64;

    internal void Validate()
    {
        if (MaxPlaintextLength is < 1 or > 16 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPlaintextLength), "must be 1 byte to 16 MiB");
        }
        if (KeyUpdateInterval is < 1 or > ulong.MaxValue - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(KeyUpdateInterval), "must be at least 1 record");
        }
    }
}
