// One end-to-end session with one peer device, sans-IO (libsignal's session_cipher shape):
// Encrypt(plaintext) → envelope bytes, Decrypt(envelope) → plaintext or E2eProtocolException.
// Decryption runs on a copy of the ratchet state and replaces the state only on success, so a
// forged, replayed, truncated or out-of-bound message changes nothing (Serialize before == after).
// Not responsible for: storing sessions or prekeys, deciding whether to trust an identity
// (compare SafetyNumber), delivery, or any IO. Serialize's output holds secrets: encrypt it at rest.
// An instance is not thread-safe: one caller at a time per session (the caller's per-peer lock).
using Parley.EndToEnd.Wire;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Pqxdh;
using Parley.EndToEnd.Prekeys;
using Parley.EndToEnd.Ratchet;

namespace Parley.EndToEnd.Session;

public sealed class E2eSession : IDisposable
{
    /// <summary>Version of <see cref="Serialize"/>'s encoding.</summary>
    public const byte StateVersion = 1;

    private readonly IE2eRandom _random;
    private readonly byte[] _associatedData;
    private readonly byte[] _initiatorBaseKey;
    private PqxdhInitialHeader? _pendingHeader;
    private RatchetState _ratchet;
    private bool _disposed;

    private E2eSession(E2eRole role, E2eSessionState state, IdentityPublicKey ourIdentity, IdentityPublicKey theirIdentity,
        byte[] initiatorBaseKey, PqxdhInitialHeader? pendingHeader, RatchetState ratchet, IE2eRandom random)
    {
        Role = role;
        State = state;
        OurIdentity = ourIdentity;
        TheirIdentity = theirIdentity;
        _initiatorBaseKey = initiatorBaseKey;
        _pendingHeader = pendingHeader;
        _ratchet = ratchet;
        _random = random;
        _associatedData = role == E2eRole.Initiator
            ? PqxdhHandshake.AssociatedData(ourIdentity, theirIdentity)
            : PqxdhHandshake.AssociatedData(theirIdentity, ourIdentity);
    }

    public E2eRole Role { get; }

    public E2eSessionState State { get; private set; }

    public IdentityPublicKey OurIdentity { get; }

    public IdentityPublicKey TheirIdentity { get; }

    /// <summary>How many skipped message keys are stored (for tests and diagnostics; never the keys).</summary>
    internal int SkippedMessageKeyCount => _ratchet.Skipped.Count;

    // ── Starting a session ──

    /// <summary>The initiator: runs PQXDH against a fetched bundle (signatures verified, fail closed).</summary>
    public static E2eSession Initiate(IdentityKeyPair ours, PrekeyBundle theirs, IE2eRandom? random = null)
    {
        random ??= SystemE2eRandom.Instance;
        using PqxdhOutcome outcome = PqxdhHandshake.Initiate(ours, theirs, random);
        RatchetState ratchet = DoubleRatchet.InitialiseInitiator(outcome.SharedKey, theirs.SignedPrekey.PublicKey, random);
        return new E2eSession(E2eRole.Initiator, E2eSessionState.AwaitingFirstReply, ours.PublicKey, theirs.Identity,
            outcome.Header.EphemeralKey.ToArray(), outcome.Header, ratchet, random);
    }

    /// <summary>The PQXDH header of a prekey envelope, so the responder can look up the prekeys it names.</summary>
    public static PqxdhInitialHeader ReadInitialHeader(ReadOnlySpan<byte> envelope) =>
        Envelope.Decode(envelope).InitialHeader
            ?? throw new E2eProtocolException(E2eError.UnexpectedMessage, "not a prekey envelope");

    /// <summary>
    /// True when this is the responder session <paramref name="header"/> started: a prekey envelope
    /// with it is a later (or replayed) message of this session, never a reason to start a new one.
    /// </summary>
    public bool WasStartedBy(PqxdhInitialHeader header)
    {
        ArgumentNullException.ThrowIfNull(header);
        return Role == E2eRole.Responder
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(header.EphemeralKey, _initiatorBaseKey);
    }

    /// <summary>
    /// The responder: PQXDH with the prekeys the header names, then the first message is decrypted.
    /// Only if it authenticates is a session returned, with the prekeys to delete.
    /// </summary>
    public static E2eSessionAcceptance Accept(IdentityKeyPair ours, SignedPrekeyPair signedPrekey, OneTimePrekeyPair? oneTimePrekey,
        KemPrekeyPair kemPrekey, ReadOnlySpan<byte> envelope, IE2eRandom? random = null)
    {
        ArgumentNullException.ThrowIfNull(ours);
        random ??= SystemE2eRandom.Instance;
        Envelope parsed = Envelope.Decode(envelope);
        PqxdhInitialHeader header = parsed.InitialHeader
            ?? throw new E2eProtocolException(E2eError.UnexpectedMessage, "a session starts with a prekey envelope");
        using PqxdhOutcome outcome = PqxdhHandshake.Respond(ours, header, signedPrekey, oneTimePrekey, kemPrekey);
        RatchetState ratchet = DoubleRatchet.InitialiseResponder(outcome.SharedKey, signedPrekey);
        E2eSession session = new(E2eRole.Responder, E2eSessionState.Established, ours.PublicKey, header.InitiatorIdentity,
            header.EphemeralKey.ToArray(), null, ratchet, random);
        try
        {
            byte[] plaintext = session.DecryptRatchetMessage(parsed);
            return new E2eSessionAcceptance(session, plaintext, outcome.Consumed);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    // ── Messages ──

    public byte[] Encrypt(ReadOnlySpan<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (plaintext.Length > RatchetLimits.MaxPlaintextSize)
        {
            throw new ArgumentException($"A plaintext is at most {RatchetLimits.MaxPlaintextSize} bytes.", nameof(plaintext));
        }
        (RatchetHeader header, byte[] ciphertext) = DoubleRatchet.Encrypt(_ratchet, plaintext, _associatedData);
        return Envelope.Encode(State == E2eSessionState.AwaitingFirstReply ? _pendingHeader : null, header, ciphertext);
    }

    /// <summary>The plaintext, or E2eProtocolException; on any failure the session is exactly as before.</summary>
    public byte[] Decrypt(ReadOnlySpan<byte> envelope)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Envelope parsed = Envelope.Decode(envelope);
        if (parsed.InitialHeader is not null)
        {
            if (Role == E2eRole.Initiator)
            {
                throw new E2eProtocolException(E2eError.UnexpectedMessage, "the initiator does not take prekey envelopes");
            }
            if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(parsed.InitialHeader.EphemeralKey, _initiatorBaseKey))
            {
                throw new E2eProtocolException(E2eError.SessionMismatch, "the prekey envelope starts a different session");
            }
        }
        byte[] plaintext = DecryptRatchetMessage(parsed);
        if (State == E2eSessionState.AwaitingFirstReply)
        {
            State = E2eSessionState.Established;
            _pendingHeader = null;
        }
        return plaintext;
    }

    /// <summary>Like <see cref="Decrypt"/>, with the error as a value.</summary>
    public bool TryDecrypt(ReadOnlySpan<byte> envelope, out byte[] plaintext, out E2eError error)
    {
        try
        {
            plaintext = Decrypt(envelope);
            error = default;
            return true;
        }
        catch (E2eProtocolException e)
        {
            plaintext = [];
            error = e.Error;
            return false;
        }
    }

    private byte[] DecryptRatchetMessage(Envelope envelope)
    {
        RatchetState copy = _ratchet.Clone();
        try
        {
            byte[] plaintext = DoubleRatchet.Decrypt(copy, envelope.Header, envelope.Ciphertext, _associatedData, _random);
            (_ratchet, copy) = (copy, _ratchet);
            return plaintext;
        }
        finally
        {
            copy.Dispose();
        }
    }

    // ── Persistence ──
    //   u8 version = 1 || u8 role || u8 state || our identity (128) || their identity (128)
    //   || initiator base key (32) || u8 has-pending || [u16 length || pending initial header] || ratchet state

    public byte[] Serialize()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ByteWriter writer = new(4096);
        writer.WriteByte(StateVersion).WriteByte((byte)Role).WriteByte((byte)State);
        OurIdentity.Write(writer);
        TheirIdentity.Write(writer);
        writer.WriteBytes(_initiatorBaseKey);
        writer.WriteBoolean(_pendingHeader is not null);
        if (_pendingHeader is not null)
        {
            writer.WriteLengthPrefixed16(_pendingHeader.Encode());
        }
        _ratchet.Write(writer);
        return writer.ToArray();
    }

    public static E2eSession Deserialize(ReadOnlySpan<byte> serialized, IE2eRandom? random = null)
    {
        ByteReader reader = new(serialized, "session state");
        reader.ExpectVersion(reader.ReadByte("version"), StateVersion);
        E2eRole role = (E2eRole)reader.ReadByte("role");
        E2eSessionState state = (E2eSessionState)reader.ReadByte("state");
        bool consistent = (role, state) is (E2eRole.Initiator, E2eSessionState.AwaitingFirstReply or E2eSessionState.Established)
            or (E2eRole.Responder, E2eSessionState.Established);
        if (!consistent)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"session state: role {(byte)role} with state {(byte)state}");
        }
        IdentityPublicKey ours = IdentityPublicKey.Read(ref reader);
        IdentityPublicKey theirs = IdentityPublicKey.Read(ref reader);
        byte[] baseKey = reader.ReadBytes(X25519Keys.KeySize, "initiator base key");
        PqxdhInitialHeader? pending = reader.ReadBoolean("pending header flag")
            ? PqxdhInitialHeader.Decode(reader.ReadLengthPrefixed16(PqxdhInitialHeader.MaxEncodedSize, "pending header"))
            : null;
        if ((pending is not null) != (state == E2eSessionState.AwaitingFirstReply))
        {
            throw new E2eProtocolException(E2eError.MalformedData, "session state: pending header does not match the state");
        }
        RatchetState ratchet = RatchetState.Read(ref reader);
        if (reader.Remaining != 0)
        {
            ratchet.Dispose();
            reader.EnsureEnd();
        }
        return new E2eSession(role, state, ours, theirs, baseKey, pending, ratchet, random ?? SystemE2eRandom.Instance);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _ratchet.Dispose();
        }
    }

    public override string ToString() => $"{nameof(E2eSession)}({Role}, {State}, {TheirIdentity})";
}
