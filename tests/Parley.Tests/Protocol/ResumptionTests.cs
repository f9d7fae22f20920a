using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>PROTOCOL.md §5.8–§5.9 and §9: session tickets and the resumed handshake, both state machines in memory.</summary>
public sealed class ResumptionTests : IDisposable
{
    private readonly ManualClock _clock = new();
    private readonly SessionTicketKey _ticketKey = TicketKeyOf(HandshakeHarness.ServerKey, "server one");

    public void Dispose() => _ticketKey.Dispose();

    /// <summary>A ticket key as a server would derive it from its identity file (the test keys are not exportable, so a stand-in private key).</summary>
    private static SessionTicketKey TicketKeyOf(SigningKey identity, string privateKeyStandIn) =>
        SessionTicketKey.Derive(System.Text.Encoding.ASCII.GetBytes(privateKeyStandIn), identity.Algorithm.Name, identity.PublicKey);

    private ServerHandshakeOptions Server(SessionTicketKey? key, SigningKey? identity = null, KeyAgreementAlgorithm? group = null) =>
        HandshakeHarness.ServerOptions(group, identity: identity) with { TicketKey = key, Clock = _clock };

    private ClientHandshakeOptions Client(ResumptionTicket? ticket = null) =>
        HandshakeHarness.ClientOptions() with { AcceptSessionTickets = true, Resumption = ticket, Clock = _clock };

    /// <summary>One whole handshake; the messages the client read, the sessions, and the ticket the server sent (if any).</summary>
    private sealed record Outcome(List<MessageType> ToClient, ClientHandshakeResult Client, ServerHandshakeStep Server, ResumptionTicket? Ticket);

    private Outcome Run(ClientHandshakeOptions clientOptions, ServerHandshakeOptions serverOptions, Func<byte[], byte[]>? onHello = null)
    {
        using ClientHandshake client = new(clientOptions);
        using ServerHandshake server = new(serverOptions);
        List<MessageType> toClient = [];
        byte[] hello = HandshakeHarness.Body(client.Start());
        ServerHandshakeStep step = server.ReadMessage(onHello is null ? hello : onHello(hello));
        byte[] answer = HandshakeHarness.Body(step.Send!);
        toClient.Add((MessageType)answer[0]);
        if (answer[0] == (byte)MessageType.HelloRetryRequest)
        {
            ClientHandshakeStep retry = client.ReadMessage(answer);
            step = server.ReadMessage(HandshakeHarness.Body(retry.Send!));
            answer = HandshakeHarness.Body(step.Send!);
            toClient.Add((MessageType)answer[0]);
        }
        ClientHandshakeStep authenticated = client.ReadMessage(answer);
        Assert.NotNull(authenticated.ServerIdentity);
        ClientHandshakeResult result = client.Confirm();
        ServerHandshakeStep finished = server.ReadMessage(HandshakeHarness.Body(result.Send));
        Assert.Equal(ServerHandshakeState.Complete, server.State);
        Assert.Equal(server.Resumed, finished.Resumed);
        Assert.Equal(client.Resumed, result.Resumed);
        ResumptionTicket? ticket = null;
        if (finished.Send is { } ticketRecord)
        {
            (MessageType type, byte[] payload) = result.Session.Open(HandshakeHarness.Body(ticketRecord));
            Assert.Equal(MessageType.NewSessionTicket, type);
            ticket = result.Resumption!.Accept(NewSessionTicket.Decode(payload), _clock.GetUtcNow());
        }
        return new Outcome(toClient, result, finished, ticket);
    }

    private ResumptionTicket FirstTicket()
    {
        Outcome full = Run(Client(), Server(_ticketKey));
        Assert.Equal([MessageType.ServerHello], full.ToClient);
        return full.Ticket!;
    }

    [Fact]
    public void A_full_handshake_gives_a_ticket_and_the_next_handshake_resumes_without_a_signature()
    {
        using ResumptionTicket ticket = FirstTicket();
        Assert.Equal("x25519", ticket.Group);
        Assert.Equal(HandshakeHarness.ServerKey.PublicKey.ToArray(), ticket.Server.PublicKey);
        Assert.Equal(_clock.GetUtcNow() + SessionTickets.Lifetime, ticket.ExpiresAt);

        Outcome resumed = Run(Client(ticket), Server(_ticketKey));

        // A ResumedServerHello carries no signature field at all; both sides say they resumed.
        Assert.Equal([MessageType.ResumedServerHello], resumed.ToClient);
        Assert.True(resumed.Client.Resumed);
        Assert.True(resumed.Server.Resumed);
        Assert.Equal("resumed"u8.ToArray(), HandshakeHarness.Exchange(resumed.Client.Session, resumed.Server.Session!, "resumed"u8.ToArray()));
        // The resumed session brings the next ticket (the client uses each one once), with a new secret.
        Assert.NotNull(resumed.Ticket);
        Assert.NotEqual(ticket.Ticket, resumed.Ticket!.Ticket);
        Assert.NotEqual(ticket.ExportSecret(), resumed.Ticket.ExportSecret());
    }

    [Fact]
    public void An_expired_ticket_gets_the_full_signed_handshake()
    {
        using ResumptionTicket ticket = FirstTicket();
        // The client keeps an expired ticket to itself; a server must refuse one all the same.
        ResumptionTicket stale = new(ticket.Ticket, ticket.ExportSecret(), ticket.Group, ticket.Suite, ticket.Server, DateTimeOffset.MaxValue);
        _clock.Advance(SessionTickets.Lifetime);

        Outcome outcome = Run(Client(stale), Server(_ticketKey));

        Assert.Equal([MessageType.ServerHello], outcome.ToClient);
        Assert.False(outcome.Server.Resumed);
        Assert.NotNull(outcome.Ticket);
    }

    [Fact]
    public void A_client_does_not_offer_an_expired_ticket()
    {
        using ResumptionTicket ticket = FirstTicket();
        _clock.Advance(SessionTickets.Lifetime);
        using ClientHandshake client = new(Client(ticket));
        Assert.Equal((byte)MessageType.ClientHello, HandshakeHarness.Body(client.Start())[0]);
        Assert.False(client.OfferedTicket);
    }

    [Fact]
    public void A_tampered_ticket_gets_the_full_signed_handshake()
    {
        using ResumptionTicket ticket = FirstTicket();
        for (int i = 0; i < ticket.Ticket.Length; i += 17)
        {
            byte[] changed = (byte[])ticket.Ticket.Clone();
            changed[i] ^= 0x01;
            using ResumptionTicket tampered = new(changed, ticket.ExportSecret(), ticket.Group, ticket.Suite, ticket.Server, ticket.ExpiresAt);
            Outcome outcome = Run(Client(tampered), Server(_ticketKey));
            Assert.Equal([MessageType.ServerHello], outcome.ToClient);
            Assert.False(outcome.Client.Resumed);
        }
    }

    [Fact]
    public void A_ticket_from_another_server_key_gets_the_full_signed_handshake()
    {
        using ResumptionTicket ticket = FirstTicket();
        using SigningKey otherIdentity = SignatureAlgorithms.Ed25519.GenerateKey();
        using SessionTicketKey otherKey = TicketKeyOf(otherIdentity, "server two");

        Outcome outcome = Run(Client(ticket), Server(otherKey, otherIdentity));

        Assert.Equal([MessageType.ServerHello], outcome.ToClient);
        Assert.False(outcome.Server.Resumed);
        Assert.Equal(otherIdentity.PublicKey.ToArray(), outcome.Client.Resumption!.Server.PublicKey);
    }

    [Fact]
    public void The_same_identity_with_another_private_key_stand_in_derives_another_ticket_key()
    {
        // The ticket key comes from the private key, not the public one alone: whoever knows only the public key cannot seal tickets.
        using ResumptionTicket ticket = FirstTicket();
        using SessionTicketKey other = TicketKeyOf(HandshakeHarness.ServerKey, "not the private key");
        Outcome outcome = Run(Client(ticket), Server(other));
        Assert.Equal([MessageType.ServerHello], outcome.ToClient);
    }

    [Fact]
    public void A_ticket_for_a_group_the_server_no_longer_takes_falls_back_through_a_retry()
    {
        using ResumptionTicket ticket = FirstTicket();
        Outcome outcome = Run(Client(ticket), Server(_ticketKey, group: KeyAgreementAlgorithms.P256));
        Assert.Equal([MessageType.HelloRetryRequest, MessageType.ServerHello], outcome.ToClient);
        Assert.False(outcome.Client.Resumed);
        Assert.Equal("p256", outcome.Client.Session.Group);
    }

    [Fact]
    public void A_server_with_tickets_off_answers_a_ticket_with_the_full_handshake_and_issues_none()
    {
        using ResumptionTicket ticket = FirstTicket();
        Outcome outcome = Run(Client(ticket), Server(key: null));
        Assert.Equal([MessageType.ServerHello], outcome.ToClient);
        Assert.Null(outcome.Ticket);
    }

    [Fact]
    public void A_client_that_does_not_signal_gets_no_ticket_and_its_hello_is_unchanged()
    {
        ClientHandshakeOptions plain = HandshakeHarness.ClientOptions();
        using ClientHandshake client = new(plain);
        ClientHello hello = ClientHello.Decode(HandshakeHarness.Body(client.Start()));
        Assert.DoesNotContain(SessionTickets.SignalSuite, hello.Suites);
        Outcome outcome = Run(plain, Server(_ticketKey));
        Assert.Null(outcome.Ticket);
        Assert.Null(outcome.Client.Resumption);
    }

    [Fact]
    public void A_man_in_the_middle_who_strips_the_ticket_meets_a_signed_ServerHello_and_the_client_fails_closed()
    {
        using ResumptionTicket ticket = FirstTicket();
        using ClientHandshake client = new(Client(ticket));
        using ServerHandshake server = new(Server(_ticketKey));
        ClientHello offered = ClientHello.Decode(HandshakeHarness.Body(client.Start()));
        Assert.NotNull(offered.Ticket);

        ServerHandshakeStep step = server.ReadMessage((offered with { Ticket = null }).Encode());
        byte[] answer = HandshakeHarness.Body(step.Send!);

        Assert.Equal((byte)MessageType.ServerHello, answer[0]);
        Assert.False(server.Resumed);
        // The signature covers the hello the server saw, not the one the client sent.
        ParleyProtocolException e = Assert.Throws<ParleyProtocolException>(() => client.ReadMessage(answer));
        Assert.Equal(ProtocolError.BadSignature, e.Error);
    }

    [Fact]
    public void A_client_with_the_ticket_but_not_its_secret_fails_with_bad_finished()
    {
        using ResumptionTicket ticket = FirstTicket();
        byte[] wrongSecret = new byte[SessionTickets.SecretSize];
        using ResumptionTicket stolen = new(ticket.Ticket, wrongSecret, ticket.Group, ticket.Suite, ticket.Server, ticket.ExpiresAt);
        using ClientHandshake client = new(Client(stolen));
        using ServerHandshake server = new(Server(_ticketKey));

        ServerHandshakeStep step = server.ReadMessage(HandshakeHarness.Body(client.Start()));
        client.ReadMessage(HandshakeHarness.Body(step.Send!));
        ClientHandshakeResult result = client.Confirm();
        ParleyProtocolException e = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(HandshakeHarness.Body(result.Send)));

        Assert.Equal(ProtocolError.BadFinished, e.Error);
        Assert.Equal(ServerHandshakeState.Failed, server.State);
        result.Session.Dispose();
    }

    [Fact]
    public void A_ResumedServerHello_to_a_client_that_offered_no_ticket_is_unexpected()
    {
        using ResumptionTicket ticket = FirstTicket();
        using ClientHandshake resuming = new(Client(ticket));
        using ServerHandshake server = new(Server(_ticketKey));
        byte[] resumedHello = HandshakeHarness.Body(server.ReadMessage(HandshakeHarness.Body(resuming.Start())).Send!);
        Assert.Equal((byte)MessageType.ResumedServerHello, resumedHello[0]);

        using ClientHandshake plain = new(Client());
        plain.Start();
        ParleyProtocolException e = Assert.Throws<ParleyProtocolException>(() => plain.ReadMessage(resumedHello));
        Assert.Equal(ProtocolError.UnexpectedMessage, e.Error);
    }

    [Fact]
    public void A_ResumingClientHello_after_a_retry_is_unexpected()
    {
        using ResumptionTicket ticket = FirstTicket();
        using ClientHandshake plain = new(HandshakeHarness.ClientOptions() with { ShareGroup = KeyAgreementAlgorithms.P256 });
        using ServerHandshake server = new(Server(_ticketKey, group: KeyAgreementAlgorithms.X25519) with { Groups = [KeyAgreementAlgorithms.X25519] });
        ServerHandshakeStep retry = server.ReadMessage(HandshakeHarness.Body(plain.Start()));
        Assert.Equal((byte)MessageType.HelloRetryRequest, HandshakeHarness.Body(retry.Send!)[0]);

        using ClientHandshake resuming = new(Client(ticket));
        ParleyProtocolException e = Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(HandshakeHarness.Body(resuming.Start())));
        Assert.Equal(ProtocolError.UnexpectedMessage, e.Error);
    }

    [Fact]
    public void Tickets_and_their_records_are_bounded()
    {
        byte[] tooLong = new byte[SessionTickets.MaxTicketLength + 1];
        Assert.Equal(ProtocolError.Malformed,
            Assert.Throws<ParleyProtocolException>(() => NewSessionTicket.Decode(new NewSessionTicket(60, tooLong).Encode())).Error);
        Assert.Equal(ProtocolError.IllegalParameter,
            Assert.Throws<ParleyProtocolException>(() => NewSessionTicket.Decode(new NewSessionTicket((uint)SessionTickets.Lifetime.TotalSeconds + 1, [1]).Encode())).Error);

        using ClientHandshake client = new(Client());
        ClientHello hello = ClientHello.Decode(HandshakeHarness.Body(client.Start())) with { Ticket = tooLong };
        using ServerHandshake server = new(Server(_ticketKey));
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<ParleyProtocolException>(() => server.ReadMessage(hello.Encode())).Error);
    }

    [Fact]
    public void Each_ticket_has_its_own_nonce()
    {
        using ResumptionTicket first = FirstTicket();
        using ResumptionTicket second = FirstTicket();
        Assert.NotEqual(first.Ticket[..12], second.Ticket[..12]);
        Assert.True(first.Ticket.Length <= SessionTickets.MaxTicketLength);
    }

    [Fact]
    public void A_client_that_must_prove_its_identity_is_never_resumed()
    {
        using ResumptionTicket ticket = FirstTicket();
        using ClientHandshake client = new(Client(ticket));
        using ServerHandshake server = new(Server(_ticketKey) with { RequireClientIdentity = true });
        byte[] answer = HandshakeHarness.Body(server.ReadMessage(HandshakeHarness.Body(client.Start())).Send!);
        Assert.Equal((byte)MessageType.ServerHello, answer[0]);
    }

    [Fact]
    public void Frames_the_server_reads_before_Finished_stay_bounded_in_a_resumed_handshake()
    {
        using ResumptionTicket ticket = FirstTicket();
        using ClientHandshake client = new(Client(ticket));
        using ServerHandshake server = new(Server(_ticketKey));
        server.ReadMessage(HandshakeHarness.Body(client.Start()));
        Assert.Equal(ServerHandshakeState.WaitFinished, server.State);
        Assert.True(server.MaxMessageLength < Frame.MaxHandshakeBodyLength);
    }
}
