using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Parley.Crypto.Aead;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>
/// PROTOCOL.md §10.1: a full handshake that issues a ticket, then the handshake that resumes from
/// it, every input fixed. Regenerated from the code and compared with the document, as §10's
/// vectors are (PARLEY_WRITE_VECTORS=1 rewrites it); every derived value is recomputed here
/// from the spec's formulas rather than taken from the code under test.
/// </summary>
public class ResumptionVectorTests
{
    private const string Begin = "<!-- BEGIN GENERATED RESUMPTION VECTORS -->";
    private const string End = "<!-- END GENERATED RESUMPTION VECTORS -->";

    /// <summary>The ticket's issue time in the vector: 2026-01-01T00:00:00Z; the client resumes an hour later.</summary>
    internal static readonly DateTimeOffset IssuedAt = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Protocol_md_resumption_vectors_match_the_implementation()
    {
        string path = Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md");
        string document = File.ReadAllText(path);
        int begin = document.IndexOf(Begin, StringComparison.Ordinal);
        int end = document.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "PROTOCOL.md lacks the generated resumption vectors markers");
        string generated = Generate();
        if (Environment.GetEnvironmentVariable("PARLEY_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(path, document[..(begin + Begin.Length)] + generated + document[end..]);
            return;
        }
        Assert.Equal(generated, document[(begin + Begin.Length)..end]);
    }

    [Fact]
    public void The_resumption_vectors_are_deterministic() => Assert.Equal(Generate(), Generate());

    [Fact]
    public void The_stated_ticket_limits_are_the_named_constants_and_the_vectors_ticket_size()
    {
        string document = File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md"));
        Assert.Contains($"| session ticket | 1–{SessionTickets.MaxTicketLength} bytes (`parley server`'s are {TicketLengthInVector(document)} with x25519 and aes-256-gcm) |", document);
        Assert.Contains($"| ticket lifetime | ≤ {SessionTickets.Lifetime.TotalSeconds} s (24 hours); `parley server` issues {SessionTickets.Lifetime.TotalSeconds} |", document);
        Assert.Contains($"| ticket issue time ahead of the server's clock | ≤ {SessionTickets.MaxClockSkewSeconds} s |", document);
        Assert.Contains($"u32       lifetime;                  // seconds, 1 .. {SessionTickets.Lifetime.TotalSeconds}", document);
        Assert.Contains($"opaque16  ticket;                    // 1 .. {SessionTickets.MaxTicketLength} bytes, opaque to the client", document);
        Assert.Contains($"`{SessionTickets.SignalSuite}`", document);
    }

    /// <summary>The length of the ticket printed in §10.1 (hex digits / 2).</summary>
    private static int TicketLengthInVector(string document)
    {
        int begin = document.IndexOf(Begin, StringComparison.Ordinal);
        System.Text.RegularExpressions.Match ticket = System.Text.RegularExpressions.Regex.Match(document[begin..], @"\nticket =\n((?: {4}[0-9a-f]+\n)+)");
        Assert.True(ticket.Success);
        return System.Text.RegularExpressions.Regex.Replace(ticket.Groups[1].Value, @"\s+", "").Length / 2;
    }

    private static byte[] Seed(string label) => ProtocolVectorTests.Seed(label);

    internal static string Generate()
    {
        KeyAgreementAlgorithm group = KeyAgreementAlgorithms.X25519;
        AeadAlgorithm suite = AeadAlgorithms.Aes256Gcm;
        byte[] identitySeed = Seed("server identity");
        using SigningKey identity = SignatureAlgorithms.Ed25519.ImportPrivateKey(identitySeed);
        using SessionTicketKey ticketKey = SessionTicketKey.Derive(identitySeed, "ed25519", identity.PublicKey);
        FixedClock clock = new() { Now = IssuedAt };
        ClientHandshakeOptions clientOptions = new()
        {
            Groups = [group],
            Suites = [suite],
            SignatureAlgorithms = [SignatureAlgorithms.Ed25519],
            AcceptSessionTickets = true,
            Clock = clock,
        };
        ServerHandshakeOptions serverOptions = new(identity) { Groups = [group], Suites = [suite], TicketKey = ticketKey, Clock = clock };
        StringBuilder s = new("\n");

        // The full handshake that issues the ticket.
        byte[] ticketNonce = Seed("ticket nonce")[..12];
        QueuedEntropy clientEntropy = new([Seed("client random")], Seed("client x25519 share"));
        QueuedEntropy serverEntropy = new([Seed("server random"), ticketNonce], Seed("server x25519 share"));
        ResumptionTicket ticket;
        byte[] psk;
        using (ClientHandshake client = new(clientOptions, clientEntropy))
        using (ServerHandshake server = new(serverOptions, serverEntropy))
        {
            byte[] clientHello = client.Start();
            byte[] serverHello = server.ReadMessage(HandshakeHarness.Body(clientHello)).Send!;
            client.ReadMessage(HandshakeHarness.Body(serverHello));
            ClientHandshakeResult result = client.Confirm();
            ServerHandshakeStep last = server.ReadMessage(HandshakeHarness.Body(result.Send));
            byte[] ticketFrame = last.Send!;
            byte[] th = client.TranscriptHashForTesting!;

            byte[] prk = HKDF.Extract(HashAlgorithmName.SHA256, Z(group, "client x25519 share", "server x25519 share"), th);
            psk = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, Ascii("parley/1 resumption"));
            Assert.Equal(psk, result.Resumption!.ExportForTesting());
            byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, identitySeed, 32, Ascii("parley/1 ticket key"), [.. Ascii("ed25519"), 0, .. identity.PublicKey]);
            Assert.Equal(key, ticketKey.ExportForTesting());

            (MessageType type, byte[] payload) = result.Session.Open(HandshakeHarness.Body(ticketFrame));
            Assert.Equal(MessageType.NewSessionTicket, type);
            NewSessionTicket message = NewSessionTicket.Decode(payload);
            byte[] plaintext = TicketPlaintext((ulong)IssuedAt.ToUnixTimeSeconds(), 86400, group.Name, suite.Name, psk);
            byte[] sealedTicket = new byte[12 + plaintext.Length + 16];
            ticketNonce.CopyTo(sealedTicket, 0);
            using (AesGcm aes = new(key, 16))
            {
                aes.Encrypt(ticketNonce, plaintext, sealedTicket.AsSpan(12, plaintext.Length), sealedTicket.AsSpan(12 + plaintext.Length), Ascii("parley/1 ticket"));
            }
            Assert.Equal(sealedTicket, message.Ticket);
            ticket = result.Resumption.Accept(message, clock.GetUtcNow());

            s.Append("\n#### Issuing the ticket: x25519, aes-256-gcm, ed25519\n\n```\n");
            Line(s, "issued_at", BigEndian((ulong)IssuedAt.ToUnixTimeSeconds()));
            Line(s, "client_hello_frame", clientHello);
            Line(s, "server_hello_frame", serverHello);
            Line(s, "TH", th);
            Line(s, "PRK", prk);
            Line(s, "resumption_secret", psk);
            Line(s, "ticket_key", key);
            Line(s, "ticket_nonce", ticketNonce);
            Line(s, "ticket_plaintext", plaintext);
            Line(s, "ticket", sealedTicket);
            Line(s, "client_finished_frame", result.Send);
            Line(s, "new_session_ticket_frame", ticketFrame);
            s.Append("```\n");
            result.Session.Dispose();
            last.Session!.Dispose();
        }

        // The resumed handshake, an hour later, with fresh randoms and shares.
        clock.Now += TimeSpan.FromHours(1);
        using (ticket)
        using (ClientHandshake client = new(clientOptions with { Resumption = ticket }, new QueuedEntropy([Seed("client resume random")], Seed("client x25519 resume share"))))
        using (ServerHandshake server = new(serverOptions, new QueuedEntropy([Seed("server resume random"), Seed("ticket nonce 2")[..12]], Seed("server x25519 resume share"))))
        {
            byte[] clientHello = client.Start();
            Assert.Equal((byte)MessageType.ResumingClientHello, clientHello[4]);
            byte[] serverHello = server.ReadMessage(HandshakeHarness.Body(clientHello)).Send!;
            Assert.Equal((byte)MessageType.ResumedServerHello, serverHello[4]);
            client.ReadMessage(HandshakeHarness.Body(serverHello));
            ClientHandshakeResult result = client.Confirm();
            Assert.True(result.Resumed);
            ServerHandshakeStep last = server.ReadMessage(HandshakeHarness.Body(result.Send));
            Assert.True(last.Resumed);
            byte[] th = client.TranscriptHashForTesting!;
            Assert.Equal(SHA256.HashData([.. clientHello, .. serverHello]), th);

            byte[] z = Z(group, "client x25519 resume share", "server x25519 resume share");
            byte[] pskSalt = HMACSHA256.HashData(psk, th);
            byte[] prk = HMACSHA256.HashData(pskSalt, z);
            byte[] c2s = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, Ascii("parley/1 c2s traffic"));
            byte[] s2c = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, Ascii("parley/1 s2c traffic"));
            byte[] finishedKey = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, Ascii("parley/1 c2s finished"));
            byte[] nextPsk = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, Ascii("parley/1 resumption"));
            (byte[] clientSend, byte[] clientReceive) = result.Session.ExportSecretsForTesting();
            Assert.Equal(c2s, clientSend);
            Assert.Equal(s2c, clientReceive);
            Assert.Equal(nextPsk, result.Resumption!.ExportForTesting());

            byte[] clientRecord = result.Session.Seal(MessageType.ApplicationData, "hello, server"u8);
            byte[] serverRecord = last.Session!.Seal(MessageType.ApplicationData, "hello, client"u8);
            Assert.Equal(MessageType.NewSessionTicket, result.Session.Open(HandshakeHarness.Body(last.Send!)).Type);
            Assert.Equal("hello, client"u8.ToArray(), result.Session.Open(HandshakeHarness.Body(serverRecord)).Payload);
            Assert.Equal("hello, server"u8.ToArray(), last.Session.Open(HandshakeHarness.Body(clientRecord)).Payload);

            s.Append("\n#### Resuming from it an hour later: x25519, aes-256-gcm\n\n```\n");
            Line(s, "client_random", Seed("client resume random"));
            Line(s, "client_share_private", Seed("client x25519 resume share"));
            Line(s, "server_random", Seed("server resume random"));
            Line(s, "server_share_private", Seed("server x25519 resume share"));
            Line(s, "resuming_client_hello_frame", clientHello);
            Line(s, "resumed_server_hello_frame", serverHello);
            Line(s, "Z", z);
            Line(s, "TH", th);
            Line(s, "psk_salt", pskSalt);
            Line(s, "PRK", prk);
            Line(s, "c2s_traffic_secret", c2s);
            Line(s, "s2c_traffic_secret", s2c);
            Line(s, "finished_key", finishedKey);
            Line(s, "verify_data", HMACSHA256.HashData(finishedKey, th));
            Line(s, "client_finished_frame", result.Send);
            Line(s, "client_record_1 (\"hello, server\")", clientRecord);
            Line(s, "next_resumption_secret", nextPsk);
            Line(s, "ticket_nonce", Seed("ticket nonce 2")[..12]);
            Line(s, "new_session_ticket_frame", last.Send!);
            Line(s, "server_record_1 (\"hello, client\")", serverRecord);
            s.Append("```\n");
            result.Session.Dispose();
            last.Session.Dispose();
        }
        return s.ToString();
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static byte[] BigEndian(ulong value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Z(KeyAgreementAlgorithm group, string clientLabel, string serverLabel)
    {
        using KeyAgreementPrivateKey clientShare = group.ImportPrivateKey(Seed(clientLabel)[..group.PrivateKeySize]);
        using KeyAgreementPrivateKey serverShare = group.ImportPrivateKey(Seed(serverLabel)[..group.PrivateKeySize]);
        using SharedSecret z = group.Agree(clientShare, serverShare.PublicKey);
        return z.ExportForTesting();
    }

    /// <summary>§5.8's ticket contents, written out here from the spec's layout.</summary>
    private static byte[] TicketPlaintext(ulong issuedAt, uint lifetime, string group, string suite, byte[] secret)
    {
        byte[] lifetimeBytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(lifetimeBytes, lifetime);
        return [1, .. BigEndian(issuedAt), .. lifetimeBytes, (byte)group.Length, .. Ascii(group), (byte)suite.Length, .. Ascii(suite), .. secret];
    }

    private static void Line(StringBuilder s, string name, byte[] value)
    {
        string hex = Convert.ToHexString(value).ToLowerInvariant();
        s.Append(name).Append(" =\n");
        for (int i = 0; i < hex.Length; i += 64)
        {
            s.Append("    ").Append(hex.AsSpan(i, Math.Min(64, hex.Length - i))).Append('\n');
        }
    }

    private sealed class FixedClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>Hands out fixed random values in order (hello random, then ticket nonce) and pins the key share.</summary>
    private sealed class QueuedEntropy(byte[][] randoms, byte[] share) : HandshakeEntropy
    {
        private int _next;

        public override void FillRandom(Span<byte> destination)
        {
            byte[] value = randoms[_next++];
            Assert.Equal(value.Length, destination.Length);
            value.CopyTo(destination);
        }

        public override KeyAgreementPrivateKey NewKeyShare(KeyAgreementAlgorithm group) => group.ImportPrivateKey(share.AsSpan(0, group.PrivateKeySize));
    }
}
