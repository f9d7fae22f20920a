// PROTOCOL.md §5.5 and §6.2: the record layer.
// A record is a frame whose body is: type (1 byte) || AEAD ciphertext of the payload.
//   nonce = iv XOR (0^32 || uint64be(sequence)), the sequence counting records under the key
//   aad   = the frame's 4-byte length || type
// Sequences are never sent: a replayed, reordered, dropped, truncated or modified record
// fails authentication. A KeyUpdate record moves its direction to the next secret.
using System.Buffers.Binary;
using Parley.Crypto.Aead;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;

namespace Parley.Protocol;

public enum SessionRole
{
    Client,
    Server,
}

/// <summary>The result of opening a record: its type and the length of the payload written.</summary>
public readonly record struct OpenedRecord(MessageType Type, int Length);

/// <summary>A record the receiver skipped unread: its frame body length and the limit it exceeded.</summary>
public readonly record struct SkippedRecord(int Length, int Limit);

/// <summary>
/// Both directions of an established channel. Not thread-safe: one writer seals and one reader
/// opens (the directions are independent, so sealing and opening may run concurrently).
/// </summary>
public sealed class SecureSession : IDisposable
{
    private const int AadSize = Frame.HeaderSize + 1;

    private readonly Direction _send;
    private readonly Direction _receive;
    private bool _keyUpdateRequested;
    private bool _receiveFailed;
    // KeyUpdate records opened since the last record of another type (RecordLimits.MaxKeyUpdatesInARow).
    private int _keyUpdatesInARow;

    internal SecureSession(SessionRole role, string group, AeadAlgorithm suite, TrafficSecret send, TrafficSecret receive, RecordLimits limits)
    {
        Role = role;
        Group = group;
        Suite = suite;
        Limits = limits;
        _send = new Direction(suite, send);
        _receive = new Direction(suite, receive);
    }

    public SessionRole Role { get; }
    public string Group { get; }
    public AeadAlgorithm Suite { get; }
    public RecordLimits Limits { get; }

    /// <summary>The largest frame body a peer may send: used as the frame decoder's limit.</summary>
    public int MaxFrameBodyLength => 1 + Suite.CiphertextLength(Limits.MaxPlaintextLength);

    /// <summary>Key epochs so far in each direction (0 until the first key update).</summary>
    public ulong SendEpoch => _send.Epoch;

    /// <summary>For tests that play a peer sealing by hand: the next record's sequence under the current send key.</summary>
    internal ulong SendSequence => _send.Sequence;
    public ulong ReceiveEpoch => _receive.Epoch;

    /// <summary>The largest number of bytes <see cref="Seal(MessageType, ReadOnlySpan{byte}, Span{byte})"/> can write for this payload.</summary>
    public int MaxSealedLength(int payloadLength) =>
        Frame.HeaderSize + 1 + Suite.CiphertextLength(payloadLength) + Frame.HeaderSize + 1 + Suite.CiphertextLength(0);

    /// <summary>The next record sealed is preceded by a KeyUpdate.</summary>
    public void RequestKeyUpdate() => _keyUpdateRequested = true;

    /// <summary>
    /// Seals one record into <paramref name="destination"/> as a complete frame, preceded by a
    /// KeyUpdate record when one is due. Returns the number of bytes written.
    /// </summary>
    public int Seal(MessageType type, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (type is not (MessageType.ApplicationData or MessageType.Alert or MessageType.Finished or MessageType.ClientIdentity or MessageType.NewSessionTicket))
        {
            throw new ArgumentException($"{type} is not a record an application seals.", nameof(type));
        }
        if (payload.Length > Limits.MaxPlaintextLength)
        {
            throw new ArgumentException($"A record holds at most {Limits.MaxPlaintextLength} bytes; this payload is {payload.Length}.", nameof(payload));
        }
        int written = 0;
        if (_keyUpdateRequested || _send.Sequence >= Limits.KeyUpdateInterval)
        {
            written += SealOne(MessageType.KeyUpdate, [], destination);
            _send.Advance();
            _keyUpdateRequested = false;
        }
        written += SealOne(type, payload, destination[written..]);
        return written;
    }

    public byte[] Seal(MessageType type, ReadOnlySpan<byte> payload)
    {
        byte[] buffer = new byte[MaxSealedLength(payload.Length)];
        int written = Seal(type, payload, buffer);
        return written == buffer.Length ? buffer : buffer[..written];
    }

    private int SealOne(MessageType type, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        int bodyLength = 1 + Suite.CiphertextLength(payload.Length);
        int frameLength = Frame.HeaderSize + bodyLength;
        if (destination.Length < frameLength)
        {
            throw new ArgumentException("The destination is too small for the sealed record.", nameof(destination));
        }
        Frame.WriteHeader(destination, bodyLength);
        destination[Frame.HeaderSize] = (byte)type;
        Span<byte> nonce = stackalloc byte[AeadAlgorithm.NonceSize];
        _send.NextNonce(nonce);
        AeadKey cipher = _send.Rent();
        try
        {
            cipher.Seal(nonce, payload, destination[..AadSize], destination[AadSize..frameLength]);
        }
        finally
        {
            _send.Return(cipher);
        }
        return frameLength;
    }

    /// <summary>
    /// Opens one record body (the frame without its length). KeyUpdate records are applied here
    /// and returned with length 0; the caller just reads on. Any failure is final for the session.
    /// </summary>
    public OpenedRecord Open(ReadOnlySpan<byte> body, Span<byte> plaintext)
    {
        if (_receiveFailed)
        {
            throw new InvalidOperationException("The session failed earlier and cannot open more records.");
        }
        try
        {
            return OpenCore(body, plaintext);
        }
        catch
        {
            _receiveFailed = true;
            throw;
        }
    }

    /// <summary>
    /// Accounts for a record the frame decoder skipped because it exceeded the limit (PROTOCOL.md
    /// §4): its sequence number is consumed, so the record after it opens. Its bytes were never
    /// authenticated and nothing is concluded from them.
    /// </summary>
    public SkippedRecord SkipOversizeRecord(int bodyLength)
    {
        if (_receiveFailed)
        {
            throw new InvalidOperationException("The session failed earlier and cannot skip more records.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bodyLength, MaxFrameBodyLength);
        Span<byte> unused = stackalloc byte[AeadAlgorithm.NonceSize];
        try
        {
            _receive.NextNonce(unused);
        }
        catch
        {
            _receiveFailed = true;
            throw;
        }
        return new SkippedRecord(bodyLength, MaxFrameBodyLength);
    }

    public (MessageType Type, byte[] Payload) Open(ReadOnlySpan<byte> body)
    {
        byte[] plaintext = new byte[Math.Max(0, body.Length - 1)];
        OpenedRecord record = Open(body, plaintext);
        return (record.Type, plaintext[..record.Length]);
    }

    private OpenedRecord OpenCore(ReadOnlySpan<byte> body, Span<byte> plaintext)
    {
        if (body.Length < 1 + Suite.CiphertextLength(0))
        {
            throw new ParleyProtocolException(ProtocolError.Malformed, $"a record of {body.Length} bytes is shorter than the smallest {Suite.Name} record");
        }
        if (body.Length > MaxFrameBodyLength)
        {
            throw new ParleyProtocolException(ProtocolError.FrameTooLarge, $"a record of {body.Length} bytes exceeds the limit of {MaxFrameBodyLength} bytes");
        }
        MessageType type = (MessageType)body[0];
        if (type is not (MessageType.ApplicationData or MessageType.Alert or MessageType.Finished or MessageType.KeyUpdate or MessageType.ClientIdentity or MessageType.NewSessionTicket))
        {
            throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, $"record type 0x{body[0]:x2} is not a record type");
        }
        Span<byte> aad = stackalloc byte[AadSize];
        Frame.WriteHeader(aad, body.Length);
        aad[Frame.HeaderSize] = body[0];
        Span<byte> nonce = stackalloc byte[AeadAlgorithm.NonceSize];
        _receive.NextNonce(nonce);
        AeadKey cipher = _receive.Rent();
        bool opened;
        int length;
        try
        {
            opened = cipher.TryOpen(nonce, body[1..], aad, plaintext, out length);
        }
        finally
        {
            _receive.Return(cipher);
        }
        if (!opened)
        {
            throw new ParleyProtocolException(ProtocolError.BadRecordMac,
                "record authentication failed (the record was modified, replayed, reordered, truncated or one was dropped)");
        }
        if (type != MessageType.KeyUpdate)
        {
            _keyUpdatesInARow = 0;
            return new OpenedRecord(type, length);
        }
        if (length != 0)
        {
            throw new ParleyProtocolException(ProtocolError.Malformed, "a KeyUpdate record must be empty");
        }
        if (++_keyUpdatesInARow > RecordLimits.MaxKeyUpdatesInARow)
        {
            throw new ParleyProtocolException(ProtocolError.UnexpectedMessage,
                $"more than {RecordLimits.MaxKeyUpdatesInARow} KeyUpdate records in a row, with no other record between them");
        }
        _receive.Advance();
        return new OpenedRecord(type, length);
    }

    /// <summary>
    /// Frees both directions' cipher contexts where not in use this instant (an idle connection's
    /// native AEAD state); the next record in each direction creates its context again from the
    /// key. Safe to call from any thread, concurrently with sealing and opening.
    /// </summary>
    /// <returns>How many contexts were freed (0 to 2).</returns>
    public int ReleaseCipherContexts() => (_send.ReleaseKey() ? 1 : 0) + (_receive.ReleaseKey() ? 1 : 0);

    /// <summary>Cipher contexts held now (0, 1 or 2).</summary>
    public int CipherContextsHeld => (_send.HoldsCipher ? 1 : 0) + (_receive.HoldsCipher ? 1 : 0);

    /// <summary>For the vectors in PROTOCOL.md only: the current traffic secrets.</summary>
    internal (byte[] Send, byte[] Receive) ExportSecretsForTesting() => (_send.ExportSecret(), _receive.ExportSecret());

    public void Dispose()
    {
        _send.Dispose();
        _receive.Dispose();
    }

    public override string ToString() => $"{nameof(SecureSession)}({Role}, {Group}, {Suite.Name})";

    /// <summary>
    /// One direction: its secret, the key and IV derived from it, and the record counter. The
    /// AEAD cipher context (native state, ~2 KiB for AES-GCM) is created from the key bytes on
    /// first use and may be released by any thread (<see cref="ReleaseKey"/>) while the direction
    /// is idle: its one user takes the context out for each record and puts it back after, so a
    /// release never pulls a context from under a record being sealed or opened.
    /// </summary>
    private sealed class Direction : IDisposable
    {
        private readonly AeadAlgorithm _suite;
        private readonly byte[] _iv = new byte[AeadAlgorithm.NonceSize];
        private readonly byte[] _key;
        private TrafficSecret _secret;
        private AeadKey? _cipher;
        private volatile bool _disposed;

        internal Direction(AeadAlgorithm suite, TrafficSecret secret)
        {
            _suite = suite;
            _secret = secret;
            _key = new byte[suite.KeySize];
            secret.DeriveKeyBytes(_key, _iv);
        }

        internal ulong Sequence { get; private set; }
        internal ulong Epoch { get; private set; }

        internal bool HoldsCipher => Volatile.Read(ref _cipher) is not null;

        /// <summary>Takes the cipher context out (creating it if it was released); give it back with <see cref="Return"/>.</summary>
        internal AeadKey Rent()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Interlocked.Exchange(ref _cipher, null) ?? _suite.CreateKey(_key);
        }

        internal void Return(AeadKey cipher)
        {
            if (Interlocked.CompareExchange(ref _cipher, cipher, null) is not null)
            {
                cipher.Dispose();
            }
            else if (_disposed)
            {
                ReleaseKey();
            }
        }

        /// <summary>Frees the cipher context if it is not in use; the next record creates it again.</summary>
        internal bool ReleaseKey()
        {
            AeadKey? cipher = Interlocked.Exchange(ref _cipher, null);
            cipher?.Dispose();
            return cipher is not null;
        }

        internal void NextNonce(Span<byte> nonce)
        {
            if (Sequence == ulong.MaxValue)
            {
                throw new ParleyProtocolException(ProtocolError.SequenceExhausted, "the record counter is exhausted for this key");
            }
            _iv.CopyTo(nonce);
            ulong tail = BinaryPrimitives.ReadUInt64BigEndian(nonce[4..]) ^ Sequence;
            BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], tail);
            Sequence++;
        }

        internal byte[] ExportSecret() => _secret.ExportForTesting();

        /// <summary>Moves to the next key epoch, wiping the old secret and key. Called by this direction's one user, between records.</summary>
        internal void Advance()
        {
            TrafficSecret next = _secret.Next();
            _secret.Dispose();
            ReleaseKey();
            _secret = next;
            next.DeriveKeyBytes(_key, _iv);
            Sequence = 0;
            Epoch++;
        }

        public void Dispose()
        {
            _disposed = true;
            ReleaseKey();
            _secret.Dispose();
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(_key);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(_iv);
        }
    }
}
