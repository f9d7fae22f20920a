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

/// <summary>The end of a client handshake: the frames to send (ClientIdentity if configured, then Finished), and the session.</summary>
public sealed record ClientHandshakeResult(byte[] Send, SecureSession Session);

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
    private ServerHello? _serverHello;
    private byte[]? _transcriptHash;

    public ClientHandshake(ClientHandshakeOptions? options = null, HandshakeEntropy? entropy = null)
    {
        _options = options ?? new ClientHandshakeOptions();
        _options.Validate();
        _entropy = entropy ?? HandshakeEntropy.System;
        _shareGroup = _options.EffectiveShareGroup;
    }

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
        ClientHello hello = new(
            ProtocolVersion.Current,
            _random,
            _options.Groups.Select(g => g.Name).ToList(),
            _options.Suites.Select(s => s.Name).ToList(),
            _options.SignatureAlgorithms.Select(s => s.Name).ToList(),
            _shareGroup.Name,
            _share.PublicKey.ToArray());
        byte[] body = hello.Encode();
        _transcript.Add(body);
        State = ClientHandshakeState.WaitServerHello;
        return Frame.Wrap(body);
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
        _serverHello = hello;
        State = ClientHandshakeState.ServerAuthenticated;
        return new ClientHandshakeStep(null, new PeerIdentity(signatureAlgorithm, hello.IdentityKey));
    }

    /// <summary>ServerAuthenticated → Complete: the caller trusts the server; returns Finished and the session.</summary>
    public ClientHandshakeResult Confirm()
    {
        Expect(ClientHandshakeState.ServerAuthenticated);
        HandshakeSecrets secrets = _secrets!;
        SecureSession session = new(
            SessionRole.Client,
            _serverHello!.Group,
            _options.Suites.First(s => s.Name == _serverHello.Suite),
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
        secrets.Dispose();
        _secrets = null;
        State = ClientHandshakeState.Complete;
        return new ClientHandshakeResult(finished, session);
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
