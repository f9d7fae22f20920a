// PROTOCOL.md §9.1: the client's state machine.
//
//   Start ──Start()──▶ WaitServerHello ──ServerHello──▶ ServerAuthenticated ──Confirm()──▶ Complete
//                                          (Confirm sends ClientIdentity first when the client has an identity)
//                       │  ▲                                    │
//                       └──┘ HelloRetryRequest (once)          └──Reject()──▶ Failed
//   any error ──▶ Failed
//
// ServerAuthenticated is a stop on purpose: the signature is verified, but whether this server
// key is the one the user trusts (known_hosts) is for the caller to decide before Finished.
//
// Resumption (§5.9, §9.1): with a usable ticket, Start sends a ResumingClientHello instead.
//   WaitServerHello ──ResumedServerHello──▶ ServerAuthenticated (by the PSK: the identity is the
//                                           ticket's, and only its holder can open our records)
//   WaitServerHello ──ServerHello (signed)──▶ ServerAuthenticated as above: the server fell back
//   WaitServerHello ──HelloRetryRequest──▶ the retried hello is a plain ClientHello, the ticket dropped
using System.Security.Cryptography;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol.Framing;

namespace Parley.Protocol.Handshake;

public enum ClientHandshakeState
{
    Start,
    WaitServerHello,
    ServerAuthenticated,
    Complete,
    Failed,
}

/// <summary>What the client must do after reading a message: send bytes, or decide on the server's identity.</summary>
public readonly record struct ClientHandshakeStep(byte[]? Send, PeerIdentity? ServerIdentity);

/// <summary>
/// The end of a client handshake: the frames to send (ClientIdentity if configured, then Finished),
/// and the session. <paramref name="Resumption"/> (when the client accepts tickets) waits for the
/// server's NewSessionTicket; <paramref name="Resumed"/> says the server did not sign (§5.9).
/// </summary>
public sealed record ClientHandshakeResult(byte[] Send, SecureSession Session, ResumptionSecret? Resumption = null, bool Resumed = false);

public sealed class ClientHandshake : IDisposable
{
    private readonly ClientHandshakeOptions _options;
    private readonly HandshakeEntropy _entropy;
    private readonly Transcript _transcript = new();
    private readonly byte[] _random = new byte[ProtocolVersion.RandomSize];
    private KeyAgreementAlgorithm _shareGroup;
    private KeyAgreementPrivateKey? _share;
    private bool _retried;
    private HandshakeSecrets? _secrets;
    private byte[]? _transcriptHash;
    private ResumptionTicket? _offeredTicket;
    private PeerIdentity? _serverIdentity;
    private string? _suite;
    private bool _resumed;

    public ClientHandshake(ClientHandshakeOptions? options = null, HandshakeEntropy? entropy = null)
    {
        _options = options ?? new ClientHandshakeOptions();
        _options.Validate();
        _entropy = entropy ?? HandshakeEntropy.System;
        _offeredTicket = _options.UsableResumption;
        _shareGroup = _offeredTicket is { } ticket ? _options.Groups.First(g => g.Name == ticket.Group) : _options.EffectiveShareGroup;
    }

    /// <summary>True once a ResumedServerHello was accepted: the server proved nothing by signature, the PSK stands for it.</summary>
    public bool Resumed => _resumed;

    /// <summary>Whether the hello offered a ticket (it may still be answered with a full handshake).</summary>
    public bool OfferedTicket { get; private set; }

    public ClientHandshakeState State { get; private set; } = ClientHandshakeState.Start;

    /// <summary>Start → WaitServerHello: returns the ClientHello frame.</summary>
    public byte[] Start()
    {
        Expect(ClientHandshakeState.Start);
        _entropy.FillRandom(_random);
        return SendHello();
    }

    private byte[] SendHello()
    {
        _share?.Dispose();
        _share = _entropy.NewKeyShare(_shareGroup);
        bool signalTickets = _options.AcceptSessionTickets || _options.Resumption is not null;
        string[] suites = Names(_options.Suites, static s => s.Name, signalTickets ? SessionTickets.SignalSuite : null);
        ClientHello hello = new(
            ProtocolVersion.Current,
            _random,
            Names(_options.Groups, static g => g.Name),
            suites,
            Names(_options.SignatureAlgorithms, static s => s.Name),
            _shareGroup.Name,
            _share.PublicKey.ToArray(),
            _offeredTicket?.Ticket);
        OfferedTicket |= _offeredTicket is not null;
        byte[] body = hello.Encode();
        _transcript.Add(body);
        State = ClientHandshakeState.WaitServerHello;
        return Frame.Wrap(body);
    }

    /// <summary>The names of <paramref name="items"/>, then <paramref name="extra"/> if any: one array, no iterator or list per hello.</summary>
    private static string[] Names<T>(IReadOnlyList<T> items, Func<T, string> name, string? extra = null)
    {
        string[] names = new string[items.Count + (extra is null ? 0 : 1)];
        for (int i = 0; i < items.Count; i++)
        {
            names[i] = name(items[i]);
        }
        if (extra is not null)
        {
            names[^1] = extra;
        }
        return names;
    }

    /// <summary>Reads one handshake message body from the server.</summary>
    public ClientHandshakeStep ReadMessage(ReadOnlySpan<byte> body)
    {
        Expect(ClientHandshakeState.WaitServerHello);
        try
        {
            return HandshakeFailures.PeekType(body) switch
            {
                MessageType.HelloRetryRequest => OnHelloRetryRequest(body),
                MessageType.ServerHello => OnServerHello(body),
                MessageType.ResumedServerHello => OnResumedServerHello(body),
                MessageType.Alert => throw HandshakeFailures.FromAlertMessage(body),
                _ => throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, $"message type 0x{body[0]:x2} while waiting for a ServerHello"),
            };
        }
        catch
        {
            Fail();
            throw;
        }
    }

    private ClientHandshakeStep OnHelloRetryRequest(ReadOnlySpan<byte> body)
    {
        if (_retried)
        {
            throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, "the server asked for a second HelloRetryRequest");
        }
        HelloRetryRequest retry = HelloRetryRequest.Decode(body);
        KeyAgreementAlgorithm? group = _options.Groups.FirstOrDefault(g => g.Name == retry.Group);
        if (group is null || group == _shareGroup)
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"the server asked for group '{retry.Group}', which was not offered or was already shared");
        }
        _retried = true;
        // The server will not resume: the retried hello is a plain ClientHello (§5.9).
        _offeredTicket = null;
        _transcript.Add(body);
        _shareGroup = group;
        return new ClientHandshakeStep(SendHello(), null);
    }

    private ClientHandshakeStep OnServerHello(ReadOnlySpan<byte> body)
    {
        ServerHello hello = ServerHello.Decode(body, out int signedLength);
        if (hello.Group != _shareGroup.Name)
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"the server chose group '{hello.Group}' but the client's key share is for '{_shareGroup.Name}'");
        }
        if (!_options.Suites.Any(s => s.Name == hello.Suite))
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"the server chose suite '{hello.Suite}', which was not offered");
        }
        SignatureAlgorithm? signatureAlgorithm = _options.SignatureAlgorithms.FirstOrDefault(s => s.Name == hello.SignatureAlgorithm)
            ?? throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"the server signed with '{hello.SignatureAlgorithm}', which was not offered");

        byte[] signedHash = _transcript.HashWith(body[..signedLength]);
        if (!signatureAlgorithm.Verify(hello.IdentityKey, KeySchedule.ServerSignatureInput(signedHash), hello.Signature))
        {
            throw new ParleyProtocolException(ProtocolError.BadSignature, "the server's signature over the handshake does not verify");
        }
        _transcript.Add(body);
        _transcriptHash = _transcript.Hash();
        using (SharedSecret shared = HandshakeFailures.Agree(_shareGroup, _share!, hello.KeyShare))
        {
            _secrets = KeySchedule.Derive(shared, _transcriptHash);
        }
        _share!.Dispose();
        _suite = hello.Suite;
        _serverIdentity = new PeerIdentity(signatureAlgorithm, hello.IdentityKey);
        State = ClientHandshakeState.ServerAuthenticated;
        return new ClientHandshakeStep(null, _serverIdentity);
    }

    private ClientHandshakeStep OnResumedServerHello(ReadOnlySpan<byte> body)
    {
        ResumptionTicket ticket = _offeredTicket
            ?? throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, "a ResumedServerHello, but this client offered no ticket");
        ResumedServerHello hello = ResumedServerHello.Decode(body);
        if (hello.Group != _shareGroup.Name)
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"the server resumed in group '{hello.Group}' but the client's key share is for '{_shareGroup.Name}'");
        }
        if (hello.Suite != ticket.Suite)
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"the server resumed with suite '{hello.Suite}', not the ticket's '{ticket.Suite}'");
        }
        _transcript.Add(body);
        _transcriptHash = _transcript.Hash();
        using (SharedSecret shared = HandshakeFailures.Agree(_shareGroup, _share!, hello.KeyShare))
        {
            _secrets = KeySchedule.Derive(shared, _transcriptHash, ticket.Secret);
        }
        _share!.Dispose();
        _suite = hello.Suite;
        _resumed = true;
        _serverIdentity = ticket.Server;
        State = ClientHandshakeState.ServerAuthenticated;
        return new ClientHandshakeStep(null, _serverIdentity);
    }

    /// <summary>ServerAuthenticated → Complete: the caller trusts the server; returns Finished and the session.</summary>
    public ClientHandshakeResult Confirm()
    {
        Expect(ClientHandshakeState.ServerAuthenticated);
        HandshakeSecrets secrets = _secrets!;
        SecureSession session = new(
            SessionRole.Client,
            _shareGroup.Name,
            _options.Suites.First(s => s.Name == _suite),
            send: secrets.ClientToServer,
            receive: secrets.ServerToClient,
            _options.Limits);
        byte[] identity = [];
        if (_options.Identity is { } key)
        {
            ClientIdentityMessage proof = new(key.Algorithm.Name, key.PublicKey.ToArray(), key.Sign(KeySchedule.ClientSignatureInput(_transcriptHash!)));
            identity = session.Seal(MessageType.ClientIdentity, proof.Encode());
        }
        byte[] verifyData = KeySchedule.ComputeVerifyData(secrets.FinishedKey, _transcriptHash!);
        byte[] finished = [.. identity, .. session.Seal(MessageType.Finished, verifyData)];
        CryptographicOperations.ZeroMemory(verifyData);
        ResumptionSecret? resumption = _options.AcceptSessionTickets || _options.Resumption is not null
            ? new ResumptionSecret((byte[])secrets.ResumptionSecret.Clone(), _shareGroup.Name, _suite!, _serverIdentity!)
            : null;
        secrets.Dispose();
        _secrets = null;
        State = ClientHandshakeState.Complete;
        return new ClientHandshakeResult(finished, session, resumption, _resumed);
    }

    /// <summary>ServerAuthenticated → Failed: the caller does not trust the server; returns an alert frame to send.</summary>
    public byte[] Reject(ProtocolError error, string reason)
    {
        Expect(ClientHandshakeState.ServerAuthenticated);
        Fail();
        return Frame.Wrap(new Alert(error, reason).EncodeMessage());
    }

    private void Expect(ClientHandshakeState state)
    {
        if (State != state)
        {
            throw new InvalidOperationException($"The client handshake is in state {State}, not {state}.");
        }
    }

    private void Fail()
    {
        State = ClientHandshakeState.Failed;
        DisposeSecrets();
    }

    private void DisposeSecrets()
    {
        _share?.Dispose();
        if (_secrets is not null)
        {
            _secrets.Dispose();
            _secrets.ClientToServer.Dispose();
            _secrets.ServerToClient.Dispose();
            _secrets = null;
        }
    }

    /// <summary>For the vectors in PROTOCOL.md only: TH, the transcript hash through the ServerHello.</summary>
    internal byte[]? TranscriptHashForTesting => _transcriptHash;

    public void Dispose()
    {
        if (State != ClientHandshakeState.Complete)
        {
            DisposeSecrets();
        }
    }
}
