// PROTOCOL.md §9.2: the server's state machine.
//
//   WaitClientHello ──hello with an acceptable share──────────────▶ WaitFinished ──Finished──▶ Complete
//        │                                                              ▲
//        └──hello with another share──▶ WaitRetriedClientHello ──hello──┘   (one retry only)
//
//   With RequireClientIdentity, the ServerHello leads to WaitClientIdentity instead, and a valid
//   ClientIdentity record to WaitFinished.
//   any error ──▶ Failed
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
public readonly record struct ServerHandshakeStep(byte[]? Send, SecureSession? Session, PeerIdentity? ClientIdentity = null);

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

    public ServerHandshake(ServerHandshakeOptions options, HandshakeEntropy? entropy = null)
    {
        _options = options;
        _options.Validate();
        _entropy = entropy ?? HandshakeEntropy.System;
    }

    public ServerHandshakeState State { get; private set; } = ServerHandshakeState.WaitClientHello;

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

    private ClientHello DecodeHello(ReadOnlySpan<byte> body)
    {
        MessageType type = HandshakeFailures.PeekType(body);
        if (type == MessageType.Alert)
        {
            throw HandshakeFailures.FromAlertMessage(body);
        }
        if (type != MessageType.ClientHello)
        {
            throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, $"message type 0x{body[0]:x2} while waiting for a ClientHello");
        }
        return ClientHello.Decode(body);
    }

    private ServerHandshakeStep OnClientHello(ReadOnlySpan<byte> body)
    {
        ClientHello hello = DecodeHello(body);
        ChooseSuite(hello);
        CheckSignatureAlgorithm(hello);
        if (!hello.Groups.Contains(hello.ShareGroup))
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"the key share is for '{hello.ShareGroup}', which the client did not offer");
        }
        _transcript.Add(body);
        KeyAgreementAlgorithm? shared = _options.Groups.FirstOrDefault(g => g.Name == hello.ShareGroup);
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
        ClientHello hello = DecodeHello(body);
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
        (MessageType type, byte[] payload) = _session!.Open(body);
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
        _secrets.Dispose();
        _secrets = null;
        State = ServerHandshakeState.Complete;
        SecureSession session = _session;
        _session = null;
        return new ServerHandshakeStep(null, session, _clientIdentity);
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
