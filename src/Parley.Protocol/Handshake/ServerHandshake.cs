// PROTOCOL.md §9.2: the server's state machine.
//
//   WaitClientHello ──hello with an acceptable share──────────────▶ WaitFinished ──Finished──▶ Complete
//        │                                                              ▲
//        └──hello with another share──▶ WaitRetriedClientHello ──hello──┘   (one retry only)
//
//   With RequireClientIdentity, the ServerHello leads to WaitClientIdentity instead, and a valid
//   ClientIdentity record to WaitFinished.
//   any error ──▶ Failed
//
//   Resumption (§5.8, §5.9, §9.2):
//   WaitClientHello ──ResumingClientHello, ticket opens, valid, same group and suite acceptable──▶
//        send ResumedServerHello (no signature) ──▶ WaitFinished
//   WaitClientHello ──ResumingClientHello, any other ticket──▶ as a ClientHello: a signed
//        ServerHello or a HelloRetryRequest (the full handshake; never unauthenticated)
//   WaitFinished ──valid Finished, tickets on and the client accepts them──▶ send NewSessionTicket ──▶ Complete
using System.Security.Cryptography;
using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Protocol.Framing;

namespace Parley.Protocol.Handshake;

public enum ServerHandshakeState
{
    WaitClientHello,
    WaitRetriedClientHello,
    WaitClientIdentity,
    WaitFinished,
    Complete,
    Failed,
}

/// <summary>
/// What the server must do after reading a message: send bytes, and/or use the finished session.
/// <paramref name="ClientIdentity"/> is the key the client proved, when it sent one.
/// </summary>
/// <paramref name="Resumed"/> is true on the final step of a resumed handshake: the server did not sign.
public readonly record struct ServerHandshakeStep(byte[]? Send, SecureSession? Session, PeerIdentity? ClientIdentity = null, bool Resumed = false);

public sealed class ServerHandshake : IDisposable
{
    private readonly ServerHandshakeOptions _options;
    private readonly HandshakeEntropy _entropy;
    private readonly Transcript _transcript = new();
    private ClientHello? _firstHello;
    private KeyAgreementAlgorithm? _retryGroup;
    private HandshakeSecrets? _secrets;
    private SecureSession? _session;
    private byte[]? _transcriptHash;
    private PeerIdentity? _clientIdentity;
    private bool _issueTicket;
    private bool _resumed;

    public ServerHandshake(ServerHandshakeOptions options, HandshakeEntropy? entropy = null)
    {
        _options = options;
        _options.Validate();
        _entropy = entropy ?? HandshakeEntropy.System;
    }

    public ServerHandshakeState State { get; private set; } = ServerHandshakeState.WaitClientHello;

    /// <summary>True once a ticket was accepted: this handshake answers with a ResumedServerHello and signs nothing.</summary>
    public bool Resumed => _resumed;

    /// <summary>
    /// Frames longer than this are refused before they are read. Until the client's Finished only
    /// handshake-sized records are legal; the record limit applies once the channel is established.
    /// </summary>
    public int MaxMessageLength => State is ServerHandshakeState.WaitFinished or ServerHandshakeState.WaitClientIdentity
        ? HandshakeRecordLimits.MaxBodyBeforeFinished(_session!.Suite)
        : Frame.MaxHandshakeBodyLength;

    public ServerHandshakeStep ReadMessage(ReadOnlySpan<byte> body)
    {
        try
        {
            return State switch
            {
                ServerHandshakeState.WaitClientHello => OnClientHello(body),
                ServerHandshakeState.WaitRetriedClientHello => OnRetriedClientHello(body),
                ServerHandshakeState.WaitClientIdentity => OnClientIdentity(body),
                ServerHandshakeState.WaitFinished => OnFinished(body),
                _ => throw new InvalidOperationException($"The server handshake is in state {State} and reads no more messages."),
            };
        }
        catch (ParleyProtocolException)
        {
            Fail();
            throw;
        }
    }

    /// <summary>The alert frame to send for a failure this side detected.</summary>
    public static byte[] AlertFrame(ParleyProtocolException error) =>
        Frame.Wrap(new Alert(error.Error, error.Detail).EncodeMessage());

    private ClientHello DecodeHello(ReadOnlySpan<byte> body, bool mayResume)
    {
        MessageType type = HandshakeFailures.PeekType(body);
        if (type == MessageType.Alert)
        {
            throw HandshakeFailures.FromAlertMessage(body);
        }
        if (type != MessageType.ClientHello && !(mayResume && type == MessageType.ResumingClientHello))
        {
            throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, $"message type 0x{body[0]:x2} while waiting for a ClientHello");
        }
        return ClientHello.Decode(body);
    }

    private ServerHandshakeStep OnClientHello(ReadOnlySpan<byte> body)
    {
        ClientHello hello = DecodeHello(body, mayResume: true);
        ChooseSuite(hello);
        CheckSignatureAlgorithm(hello);
        if (!hello.Groups.Contains(hello.ShareGroup))
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"the key share is for '{hello.ShareGroup}', which the client did not offer");
        }
        _transcript.Add(body);
        _issueTicket = _options.TicketKey is not null && !_options.RequireClientIdentity && (hello.Ticket is not null || hello.Suites.Contains(SessionTickets.SignalSuite));
        KeyAgreementAlgorithm? shared = _options.Groups.FirstOrDefault(g => g.Name == hello.ShareGroup);
        if (shared is not null && hello.Ticket is not null && TryOpenTicket(hello, shared) is { } contents)
        {
            using (contents)
            {
                return RespondResumed(hello, shared, contents);
            }
        }
        if (shared is not null)
        {
            return Respond(hello, shared);
        }
        KeyAgreementAlgorithm retryGroup = _options.Groups.FirstOrDefault(g => hello.Groups.Contains(g.Name))
            ?? throw new ParleyProtocolException(ProtocolError.NoCommonGroup,
                $"the client offers {string.Join(", ", hello.Groups)}; this server accepts {string.Join(", ", _options.Groups.Select(g => g.Name))}");
        byte[] retry = new HelloRetryRequest(ProtocolVersion.Current, retryGroup.Name).Encode();
        _transcript.Add(retry);
        _firstHello = hello;
        _retryGroup = retryGroup;
        State = ServerHandshakeState.WaitRetriedClientHello;
        return new ServerHandshakeStep(Frame.Wrap(retry), null);
    }

    private ServerHandshakeStep OnRetriedClientHello(ReadOnlySpan<byte> body)
    {
        ClientHello hello = DecodeHello(body, mayResume: false);
        if (!hello.SameOfferAs(_firstHello!))
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, "the retried ClientHello changed its offer");
        }
        if (hello.ShareGroup != _retryGroup!.Name)
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter,
                $"the retried ClientHello shares '{hello.ShareGroup}' instead of the requested '{_retryGroup.Name}'");
        }
        _transcript.Add(body);
        return Respond(hello, _retryGroup);
    }

    private AeadAlgorithm ChooseSuite(ClientHello hello) =>
        _options.Suites.FirstOrDefault(s => hello.Suites.Contains(s.Name))
            ?? throw new ParleyProtocolException(ProtocolError.NoCommonSuite,
                $"the client offers {string.Join(", ", hello.Suites)}; this server accepts {string.Join(", ", _options.Suites.Select(s => s.Name))}");

    private void CheckSignatureAlgorithm(ClientHello hello)
    {
        if (!hello.SignatureAlgorithms.Contains(_options.Identity.Algorithm.Name))
        {
            throw new ParleyProtocolException(ProtocolError.NoCommonSignatureAlgorithm,
                $"the client accepts {string.Join(", ", hello.SignatureAlgorithms)}; this server's identity is {_options.Identity.Algorithm.Name}");
        }
    }

    private ServerHandshakeStep Respond(ClientHello hello, KeyAgreementAlgorithm group)
    {
        AeadAlgorithm suite = ChooseSuite(hello);
        byte[] random = new byte[ProtocolVersion.RandomSize];
        _entropy.FillRandom(random);
        using KeyAgreementPrivateKey share = _entropy.NewKeyShare(group);
        using SharedSecret sharedSecret = HandshakeFailures.Agree(group, share, hello.KeyShare);

        ServerHello unsigned = new(ProtocolVersion.Current, random, group.Name, suite.Name, share.PublicKey.ToArray(),
            _options.Identity.Algorithm.Name, _options.Identity.PublicKey.ToArray(), []);
        byte[] signedHash = _transcript.HashWith(unsigned.SignedPart());
        byte[] body = (unsigned with { Signature = _options.Identity.Sign(KeySchedule.ServerSignatureInput(signedHash)) }).Encode();
        _transcript.Add(body);
        _transcriptHash = _transcript.Hash();
        _secrets = KeySchedule.Derive(sharedSecret, _transcriptHash);
        _session = new SecureSession(SessionRole.Server, group.Name, suite,
            send: _secrets.ServerToClient, receive: _secrets.ClientToServer, _options.Limits);
        State = _options.RequireClientIdentity ? ServerHandshakeState.WaitClientIdentity : ServerHandshakeState.WaitFinished;
        return new ServerHandshakeStep(Frame.Wrap(body), null);
    }

    /// <summary>
    /// The ticket's contents when this handshake can resume from it: it opens under our key (so it
    /// is ours and untouched), is within its lifetime, and its group is the share's and its suite
    /// one we accept and the client offers. Null sends the client down the full handshake.
    /// </summary>
    private TicketContents? TryOpenTicket(ClientHello hello, KeyAgreementAlgorithm shareGroup)
    {
        // Peers that must prove a long-term key (§5.7) always run the full handshake.
        if (_options.TicketKey is not { } key || hello.Ticket is null || _options.RequireClientIdentity)
        {
            return null;
        }
        TicketContents? contents = key.TryOpen(hello.Ticket);
        if (contents is null)
        {
            return null;
        }
        ulong now = (ulong)_options.Clock.GetUtcNow().ToUnixTimeSeconds();
        bool usable = contents.ValidAt(now)
            && contents.Group == shareGroup.Name
            && hello.Suites.Contains(contents.Suite)
            && _options.Suites.Any(s => s.Name == contents.Suite);
        if (!usable)
        {
            contents.Dispose();
            return null;
        }
        return contents;
    }

    private ServerHandshakeStep RespondResumed(ClientHello hello, KeyAgreementAlgorithm group, TicketContents ticket)
    {
        AeadAlgorithm suite = _options.Suites.First(s => s.Name == ticket.Suite);
        byte[] random = new byte[ProtocolVersion.RandomSize];
        _entropy.FillRandom(random);
        using KeyAgreementPrivateKey share = _entropy.NewKeyShare(group);
        using SharedSecret sharedSecret = HandshakeFailures.Agree(group, share, hello.KeyShare);
        byte[] body = new ResumedServerHello(ProtocolVersion.Current, random, group.Name, suite.Name, share.PublicKey.ToArray()).Encode();
        _transcript.Add(body);
        _transcriptHash = _transcript.Hash();
        _secrets = KeySchedule.Derive(sharedSecret, _transcriptHash, ticket.Secret);
        _session = new SecureSession(SessionRole.Server, group.Name, suite,
            send: _secrets.ServerToClient, receive: _secrets.ClientToServer, _options.Limits);
        _resumed = true;
        State = ServerHandshakeState.WaitFinished;
        return new ServerHandshakeStep(Frame.Wrap(body), null);
    }

    private ServerHandshakeStep OnClientIdentity(ReadOnlySpan<byte> body)
    {
        if (HandshakeFailures.PeekType(body) == MessageType.Alert)
        {
            throw HandshakeFailures.FromAlertMessage(body);
        }
        (MessageType type, byte[] payload) = _session!.Open(body);
        if (type != MessageType.ClientIdentity)
        {
            throw new ParleyProtocolException(ProtocolError.ClientIdentityRequired,
                $"this side requires the client to prove its identity, but a {type} record came first");
        }
        ClientIdentityMessage proof = ClientIdentityMessage.Decode(payload);
        if (!Parley.Crypto.Signing.SignatureAlgorithms.TryGet(proof.SignatureAlgorithm, out Parley.Crypto.Signing.SignatureAlgorithm algorithm))
        {
            throw new ParleyProtocolException(ProtocolError.NoCommonSignatureAlgorithm, $"the client signed with unknown algorithm '{proof.SignatureAlgorithm}'");
        }
        if (!algorithm.Verify(proof.IdentityKey, KeySchedule.ClientSignatureInput(_transcriptHash!), proof.Signature))
        {
            throw new ParleyProtocolException(ProtocolError.BadSignature, "the client's identity signature over the handshake does not verify");
        }
        _clientIdentity = new PeerIdentity(algorithm, proof.IdentityKey);
        State = ServerHandshakeState.WaitFinished;
        return new ServerHandshakeStep(null, null);
    }

    private ServerHandshakeStep OnFinished(ReadOnlySpan<byte> body)
    {
        // Until its Finished the client sends alerts in plaintext (PROTOCOL.md §5.6), so an Alert
        // here is never a sealed record: the client seals nothing before Finished.
        if (HandshakeFailures.PeekType(body) == MessageType.Alert)
        {
            throw HandshakeFailures.FromAlertMessage(body);
        }
        MessageType type;
        byte[] payload;
        try
        {
            (type, payload) = _session!.Open(body);
        }
        catch (ParleyProtocolException e) when (_resumed && e.Error == ProtocolError.BadRecordMac)
        {
            // The keys of a resumed handshake come from the ticket's secret: a client without it
            // cannot seal a Finished that opens (§5.9).
            throw new ParleyProtocolException(ProtocolError.BadFinished, "the client's Finished does not open: it does not hold the ticket's resumption secret", inner: e);
        }
        if (type != MessageType.Finished)
        {
            throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, $"a {type} record arrived before the client's Finished");
        }
        byte[] expected = KeySchedule.ComputeVerifyData(_secrets!.FinishedKey, _transcriptHash!);
        bool valid = CryptographicOperations.FixedTimeEquals(expected, payload);
        CryptographicOperations.ZeroMemory(expected);
        if (!valid)
        {
            throw new ParleyProtocolException(ProtocolError.BadFinished, "the client's Finished does not match the handshake");
        }
        byte[]? ticket = _issueTicket ? SealTicket(_session, _secrets) : null;
        _secrets.Dispose();
        _secrets = null;
        State = ServerHandshakeState.Complete;
        SecureSession session = _session;
        _session = null;
        return new ServerHandshakeStep(ticket, session, _clientIdentity, _resumed);
    }

    /// <summary>The NewSessionTicket record (§5.8), the server's first: one ticket per connection, for this session's resumption secret.</summary>
    private byte[] SealTicket(SecureSession session, HandshakeSecrets secrets)
    {
        uint lifetime = (uint)SessionTickets.Lifetime.TotalSeconds;
        ulong now = (ulong)_options.Clock.GetUtcNow().ToUnixTimeSeconds();
        using TicketContents contents = new(now, lifetime, session.Group, session.Suite.Name, secrets.ResumptionSecret);
        byte[] ticket = _options.TicketKey!.Seal(contents, _entropy);
        return session.Seal(MessageType.NewSessionTicket, new NewSessionTicket(lifetime, ticket).Encode());
    }

    private void Fail()
    {
        State = ServerHandshakeState.Failed;
        Dispose();
    }

    /// <summary>For the vectors in PROTOCOL.md only: TH, the transcript hash through the ServerHello.</summary>
    internal byte[]? TranscriptHashForTesting => _transcriptHash;

    public void Dispose()
    {
        _secrets?.Dispose();
        _session?.Dispose();
        _secrets = null;
        _session = null;
    }
}
