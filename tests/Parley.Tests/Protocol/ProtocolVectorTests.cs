using System.Security.Cryptography;
using System.Text;
using Parley.Crypto.Aead;
using Parley.Crypto.Kdf;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>
/// PROTOCOL.md §10 holds deterministic vectors: fixed private keys and randoms, and the exact
/// bytes each side sends. This test regenerates them from the code and fails if the document
/// and the code disagree. Set PARLEY_WRITE_VECTORS=1 to rewrite the section after a deliberate
/// wire change (then review the diff).
/// </summary>
public class ProtocolVectorTests
{
    private const string Begin = "<!-- BEGIN GENERATED VECTORS -->";
    private const string End = "<!-- END GENERATED VECTORS -->";

    [Fact]
    public void Protocol_md_vectors_match_the_implementation()
    {
        string path = Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md");
        string document = File.ReadAllText(path);
        int begin = document.IndexOf(Begin, StringComparison.Ordinal);
        int end = document.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "PROTOCOL.md lacks the generated vectors markers");
        string generated = Generate();
        string current = document[(begin + Begin.Length)..end];
        if (Environment.GetEnvironmentVariable("PARLEY_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(path, document[..(begin + Begin.Length)] + generated + document[end..]);
            return;
        }
        Assert.Equal(generated, current);
    }

    [Fact]
    public void The_vectors_are_deterministic()
    {
        Assert.Equal(Generate(), Generate());
    }

    internal static byte[] Seed(string label) => SHA256.HashData(Encoding.ASCII.GetBytes("parley/1 test vector " + label));

    internal static string Generate()
    {
        StringBuilder text = new("\n");
        foreach (KeyAgreementAlgorithm group in KeyAgreementAlgorithms.All)
        {
            text.Append(GenerateOne(group, AeadAlgorithms.Aes256Gcm));
        }
        text.Append(GenerateOne(KeyAgreementAlgorithms.X25519, AeadAlgorithms.ChaCha20Poly1305));
        text.Append(GenerateOne(KeyAgreementAlgorithms.X25519, AeadAlgorithms.Aes256CbcHmacSha256));
        text.Append(GenerateOne(KeyAgreementAlgorithms.X25519, AeadAlgorithms.Aes256Gcm, mutual: true));
        return text.ToString();
    }

    private static string GenerateOne(KeyAgreementAlgorithm group, AeadAlgorithm suite, bool mutual = false)
    {
        using SigningKey identity = SignatureAlgorithms.Ed25519.ImportPrivateKey(Seed("server identity"));
        using SigningKey clientIdentity = SignatureAlgorithms.Ed25519.ImportPrivateKey(Seed("client identity"));
        FixedEntropy clientEntropy = new(Seed("client random"), Seed($"client {group.Name} share"));
        FixedEntropy serverEntropy = new(Seed("server random"), Seed($"server {group.Name} share"));
        ClientHandshakeOptions clientOptions = new()
        {
            Groups = [group],
            Suites = [suite],
            SignatureAlgorithms = [SignatureAlgorithms.Ed25519],
            Identity = mutual ? clientIdentity : null,
        };
        ServerHandshakeOptions serverOptions = new(identity) { Groups = [group], Suites = [suite], RequireClientIdentity = mutual };

        using ClientHandshake client = new(clientOptions, clientEntropy);
        using ServerHandshake server = new(serverOptions, serverEntropy);
        byte[] clientHello = client.Start();
        byte[] serverHello = server.ReadMessage(HandshakeHarness.Body(clientHello)).Send!;
        client.ReadMessage(HandshakeHarness.Body(serverHello));
        ClientHandshakeResult result = client.Confirm();
        List<byte[]> clientFlight = HandshakeHarness.SplitFrames(result.Send);
        ServerHandshakeStep last = default;
        foreach (byte[] frame in clientFlight)
        {
            last = server.ReadMessage(HandshakeHarness.Body(frame));
        }
        SecureSession serverSession = last.Session!;
        if (mutual)
        {
            Assert.Equal(clientIdentity.PublicKey.ToArray(), last.ClientIdentity!.PublicKey);
        }
        byte[] th = client.TranscriptHashForTesting!;
        Assert.Equal(th, server.TranscriptHashForTesting);

        // Recompute the key schedule here, from the spec's formulas, rather than trusting the code under test.
        using KeyAgreementPrivateKey clientShare = group.ImportPrivateKey(Seed($"client {group.Name} share")[..group.PrivateKeySize]);
        using KeyAgreementPrivateKey serverShare = group.ImportPrivateKey(Seed($"server {group.Name} share")[..group.PrivateKeySize]);
        using SharedSecret z = group.Agree(clientShare, serverShare.PublicKey);
        byte[] zBytes = z.ExportForTesting();
        using PseudoRandomKey prk = PseudoRandomKey.FromInputKeyingMaterial(zBytes, th);
        byte[] c2s = Expand(prk, "parley/1 c2s traffic", 32);
        byte[] s2c = Expand(prk, "parley/1 s2c traffic", 32);
        byte[] finishedKey = Expand(prk, "parley/1 c2s finished", 32);
        (byte[] clientSend, byte[] clientReceive) = result.Session.ExportSecretsForTesting();
        Assert.Equal(c2s, clientSend);
        Assert.Equal(s2c, clientReceive);
        using PseudoRandomKey c2sPrk = PseudoRandomKey.FromUniformSecret(c2s);

        byte[] clientRecord = result.Session.Seal(MessageType.ApplicationData, "hello, server"u8);
        byte[] serverRecord = serverSession.Seal(MessageType.ApplicationData, "hello, client"u8);
        Assert.Equal("hello, server"u8.ToArray(), serverSession.Open(HandshakeHarness.Body(clientRecord)).Payload);
        Assert.Equal("hello, client"u8.ToArray(), result.Session.Open(HandshakeHarness.Body(serverRecord)).Payload);

        StringBuilder s = new();
        s.Append($"\n### {group.Name}, {suite.Name}, ed25519{(mutual ? ", client identity" : "")}\n\n```\n");
        Line(s, "client_random", Seed("client random"));
        Line(s, "client_share_private", Seed($"client {group.Name} share")[..group.PrivateKeySize]);
        Line(s, "server_random", Seed("server random"));
        Line(s, "server_share_private", Seed($"server {group.Name} share")[..group.PrivateKeySize]);
        Line(s, "server_identity_seed", Seed("server identity"));
        Line(s, "server_identity_public", identity.PublicKey.ToArray());
        Line(s, "client_hello_frame", clientHello);
        Line(s, "server_hello_frame", serverHello);
        Line(s, "Z", zBytes);
        Line(s, "TH", th);
        Line(s, "PRK", prk.ExportForTesting());
        Line(s, "c2s_traffic_secret", c2s);
        Line(s, "s2c_traffic_secret", s2c);
        Line(s, "finished_key", finishedKey);
        Line(s, "c2s_key", Expand(c2sPrk, "parley/1 key", suite.KeySize));
        Line(s, "c2s_iv", Expand(c2sPrk, "parley/1 iv", 12));
        Line(s, "verify_data", HMACSHA256.HashData(finishedKey, th));
        if (mutual)
        {
            Line(s, "client_identity_seed", Seed("client identity"));
            Line(s, "client_identity_public", clientIdentity.PublicKey.ToArray());
            Line(s, "client_identity_frame", clientFlight[0]);
            Line(s, "client_finished_frame", clientFlight[1]);
            Line(s, "client_record_2 (\"hello, server\")", clientRecord);
        }
        else
        {
            Line(s, "client_finished_frame", result.Send);
            Line(s, "client_record_1 (\"hello, server\")", clientRecord);
        }
        Line(s, "server_record_0 (\"hello, client\")", serverRecord);
        s.Append("```\n");
        result.Session.Dispose();
        serverSession.Dispose();
        return s.ToString();
    }

    private static byte[] Expand(PseudoRandomKey prk, string label, int length)
    {
        byte[] output = new byte[length];
        prk.Expand(Encoding.ASCII.GetBytes(label), output);
        return output;
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

    /// <summary>Pins the hello random and the ephemeral key share.</summary>
    private sealed class FixedEntropy(byte[] random, byte[] share) : HandshakeEntropy
    {
        public override void FillRandom(Span<byte> destination) => random.AsSpan(0, destination.Length).CopyTo(destination);

        public override KeyAgreementPrivateKey NewKeyShare(KeyAgreementAlgorithm group) => group.ImportPrivateKey(share.AsSpan(0, group.PrivateKeySize));
    }
}
