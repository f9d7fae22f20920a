using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Parley.Crypto.KeyAgreement;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Pqxdh;
using Parley.EndToEnd.Ratchet;
using Parley.EndToEnd.SafetyNumbers;
using Parley.EndToEnd.Session;
using Parley.Tests.Support;
using static Parley.Tests.EndToEnd.E2eTestKit;

namespace Parley.Tests.EndToEnd;

/// <summary>
/// Fixed vectors for the end-to-end layer, printed in docs/e2e-vectors.md (checked here to match).
/// The KDF, AEAD, X25519, Ed25519 and safety-number values were computed independently, once,
/// with python3 (hashlib, hmac and the cryptography package), p(a) = bytes(range(a, a + 32)):
/// <code>
/// def hkdf(salt, ikm, info, L):                       # RFC 5869 written out
///     prk = hmac.new(salt, ikm, hashlib.sha256).digest()
///     okm, t, i = b"", b"", 1
///     while len(okm) &lt; L:
///         t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); okm += t; i += 1
///     return okm[:L]
/// out = hkdf(p(0x00), p(0x20), b"Parley_E2E_Ratchet_v1", 64)              # KDF_RK: root, chain
/// hmac.new(p(0x40), b"\x01", sha256), hmac.new(p(0x40), b"\x02", sha256)  # KDF_CK: message, chain
/// m = hkdf(b"\x00"*32, p(0x60), b"Parley_E2E_MessageKeys_v1", 44)         # AES key m[:32], nonce m[32:]
/// header = p(0xa0) + (3).to_bytes(4, "big") + (7).to_bytes(4, "big")
/// AESGCM(m[:32]).encrypt(m[32:], b"Parley e2e vector", bytes(range(0x80, 0x90)) + header)
/// X25519PrivateKey.from_private_bytes(p(0x01)) / p(0x41): public keys and exchange
/// Ed25519PrivateKey.from_private_bytes(p(0x21)) / p(0x61): alice / bob identity public keys
/// def half(key, sid):
///     h = b"\x00\x00" + key + sid
///     for _ in range(5200): h = hashlib.sha512(h + key).digest()
///     return "".join("%05d" % (int.from_bytes(h[i:i+5], "big") % 100000) for i in range(0, 30, 5))
/// "".join(sorted([half(b"\xed" + alice, b"alice"), half(b"\xed" + bob, b"bob")]))
/// </code>
/// The transcript (transcript_*: Alice's first envelope to Bob, every key and the ML-KEM
/// encapsulation drawn from SeededRandom streams) was computed by this code, then read back
/// independently by the python3 script printed in docs/e2e-vectors.md (cryptography 48: X25519,
/// Ed25519, ML-KEM-768 decapsulation from the seed, AES-GCM), which re-derives Bob's keys from the
/// "parley e2e vector bob" stream, gets the same PQXDH SK and decrypts "Hello, Bob".
/// </summary>
public partial class E2eVectorTests
{
    private static readonly Dictionary<string, string> Expected = new()
    {
        ["kdf_rk_root"] = "2fb63da10c805fc17177610641d56a0190a8683986d2715cb8d7e5cbd0d4a76a",
        ["kdf_rk_chain"] = "c788c27647467844e5b3d0f6d034fb1204b3f907f56403cb00ae0ade8727a96e",
        ["kdf_ck_message"] = "01156abd78ef59f755f1e6945e5d1e2d7ddd1f1e5fe0a164b2f5fa8ad500bfba",
        ["kdf_ck_chain"] = "f0bdefbbad3cf097dccb03f2c87159f7608e2480543eef7741c8f2e7f226e78f",
        ["message_aead_key"] = "c7fc0e054b5f10a1ca291ce6c1a5d4183c2329b949bdd2d5efb1c5356666f7d1",
        ["message_aead_nonce"] = "10369fb8f89e526da73f01f6",
        ["ratchet_header"] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf0000000300000007",
        ["message_ciphertext"] = "12d247ded471127100dfafa4aa1d3fad3188ee13411923505879fdf77a6f3f5a3a",
        ["x25519_a_public"] = "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c",
        ["x25519_b_public"] = "64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466",
        ["x25519_shared"] = "26c2c17fdb82161cb21ad16e721315355b64d1763119b10bfc962530dc7cc163",
        ["ed25519_alice_public"] = "e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0",
        ["ed25519_bob_public"] = "882d0ea3b2864e7a587f3e698cea4459998312e655e05fa5e8b5119d8baac8cd",
        ["safety_number"] = "656240763596381325503695633026798896386806796366973190230707",
        ["transcript_bundle_sha256"] = "b2b458c5a7886dbb551f0fca8200c40c6fe11376a3e19e10e8f6ee719db0face",
        ["transcript_pqxdh_sk"] = "8744fb4c1ace6e3291f1e7c1fe5a58267c4aa89bcc123e878bd1f91dd7411f85",
        ["transcript_first_ratchet_header"] = "b933991dc3e7172f4313059a8d4aed7f9d533b358ee72585a5595e92a145a5350000000000000000",
        ["transcript_first_envelope_sha256"] = "bc43d8850ac9df28c6e3731f2fbb52b3a8249d77b34ba50ef65532d4df3576d2",
        ["transcript_first_envelope"] = "010104f001231b184371924a1b737107d8be4f0e5899f91dd6ca6b7b735fcb9643be9fa477ca36f0fe396f5995548b89455547b50ed5b89d7c70ac0a3eacae9b998355a678867d15bb5e7b25c7d1c4bf53e11cad176006a0bbb68f3958e4c1d325d57c45efdb7568574de54d996b60dfbd2c77ac2e6513ca08e5b3f71d0ae05bd3fee8cf01994f9c3da1ef622583f8177441892c92b4eed27fe29f791af586639b9bc2bf3e00000007010000002a000000090440d247f0b08f561f2445bba29363b8c5a21b099befd2db603e09cde9cf21c11d21ee85315c0218d576fe57b1165e9fedfb34fa164cc257fce8c4947b5fe7cf917be2d9018acdaf6b91572a5bc279130ce0c5a674e7c88e84c62326e8c5864e2e6dff616d5803925195526ae4325dc69e037fc5b15931d3853f2865c2ab99601f9a61ce71c5f1b2b9700f68fb19b236e07409a1fb254c24f6bf4e480837a0631615956a07dd255d27cd3e17a3ea9274daeff87f337dcd7e999436736ab01fbfd9b57c3306a698c7b6ab12bcd06aa8f57fb7bf10e7e2611dcfb86b2ca5e3139ea3baef923bf4d4569d51126dfcee7c29b849337754b517e9b697783118340132f1141f6bc7700f5727f8baacde3cc5ddc04910fc9adf52f7d0ac7adac21acb094a5a56fad6853513b295b51207ff71bf29f927515dabe1624eedeeb95624c97c6fcdc380b35624296c16e3473b0d5a165cc6cd4bd62e6850683ddaaa6b934aad1785c11283f041ffae32a8f4e4c9332df5a7da9df3315e4c35ad112ecfcaece6e4f0d0d6a83525b153cef8cb07bde253147072bf84be35687c7a789f5254298e54ae0ae5f216f6a19f11a9b27c595041c4d527abce09cdd308ffcb96d4032f040a78facdb535ca959a9c73c3efb262e9a52fef491c18ef4068b3ae284c7affe0d3244f847890e027c9a06113cba08693884da8c2beba6822700b58e19f5bb5081b7b590dc7d9ff34facf450d17d801fbdb14d1caa285dffbbf4bd793168bad090e05d2118721b21a242ad7d559519fd68d7f5a4baf8e1e269fcec77db256f055a22a6c89076dde2276832fc3c24938bab396a97ccd4b07e6c7dccef2e31e20d9706eb71704432ae80bcfe2f930107d8ea5ec377cdf4c0f974dda0cbc7f0e4ce3de1e1aa04da1693dee5f3dd51e12408d70a80556e1062e7e44995e1b4596ea1f847104f2eb35910e3fe2fada3be3a46512cc3f70d5e27d430c3f6c42d5fca144598d5556c485c4b84a94ed8064bfceea396bb161ca8ee69d4ef5113b414286e3bf6d37581e5494c471716faf823a1a34aea3ec33e89c92e8afff16f4118945b4874823b1878c13f0b8a45fdb3d4b56cdd9a8feaf3ab39833dc152055d43f4a6e7d5109c1a3430d4b791cc0fb72492b6e5d64748fbf29d2661d8520a8c20ead58e6bbf65447a56379904b52ff2b686c251556394307bcfff4694ae029d876fdbc55ea2a1a673e2a01f5d819797353851530aa6dc71358f5d64df6ad3aede496eb7ed9c163655355967e376ef0629a4b34344c60321b48d42e56a1dbec8da5bc8a6bd1c3d711d033f6b3ac678e6867b7766a082495e3825c6cfc365d1085895b37e915ceefd1084eae744bcf015e1fd88f4ff911d43724e5779d8c3116c3a762ed45a415b33152b5d86fedf307ca44869fb50f1c842aebfa5e92bd148416079c2b5ac26497a73bc54da85b5362e4b4ceb1adce54ad6fc5c4a1e513fd5c6502a9d8ff4a66cbb66f9c12eef687957ae4e8df1074ff51bd1f3b376dd6681c3dd8c2cb10e5b933991dc3e7172f4313059a8d4aed7f9d533b358ee72585a5595e92a145a535000000000000000095473058df3c4d0e995e8e75f138bb78ddec7f306eb50ed6feeb",
    };

    private static byte[] P(int start) => Enumerable.Range(start, 32).Select(i => (byte)i).ToArray();

    internal static Dictionary<string, string> Compute()
    {
        Dictionary<string, string> values = [];

        byte[] root = new byte[32], chain = new byte[32];
        RatchetKdf.RootStep(P(0x00), P(0x20), root, chain);
        values["kdf_rk_root"] = Hex(root);
        values["kdf_rk_chain"] = Hex(chain);

        byte[] messageKey = new byte[32], nextChain = new byte[32];
        RatchetKdf.ChainStep(P(0x40), messageKey, nextChain);
        values["kdf_ck_message"] = Hex(messageKey);
        values["kdf_ck_chain"] = Hex(nextChain);

        byte[] aeadKey = new byte[32], nonce = new byte[12];
        RatchetKdf.MessageKeyMaterial(P(0x60), aeadKey, nonce);
        values["message_aead_key"] = Hex(aeadKey);
        values["message_aead_nonce"] = Hex(nonce);

        RatchetHeader header = new(P(0xa0), 3, 7);
        values["ratchet_header"] = Hex(header.Encode());
        using (MessageKey key = new(P(0x60)))
        {
            byte[] associatedData = Enumerable.Range(0x80, 16).Select(i => (byte)i).ToArray();
            values["message_ciphertext"] = Hex(key.Encrypt(Utf8("Parley e2e vector"), DoubleRatchet.Concat(associatedData, header)));
        }

        using (RatchetKeyPair a = RatchetKeyPair.Import(P(0x01), X25519Keys.Algorithm.ImportPrivateKey(P(0x01)).PublicKey))
        using (RatchetKeyPair b = RatchetKeyPair.Import(P(0x41), X25519Keys.Algorithm.ImportPrivateKey(P(0x41)).PublicKey))
        using (SharedSecret shared = a.Agree(b.PublicKey))
        {
            values["x25519_a_public"] = Hex(a.PublicKey);
            values["x25519_b_public"] = Hex(b.PublicKey);
            values["x25519_shared"] = Hex(shared.ExportForTesting());
        }

        using (IdentityKeyPair alice = IdentityKeyPair.Import(P(0x21), P(0x22)))
        using (IdentityKeyPair bob = IdentityKeyPair.Import(P(0x61), P(0x62)))
        {
            values["ed25519_alice_public"] = Hex(alice.PublicKey.SigningKey);
            values["ed25519_bob_public"] = Hex(bob.PublicKey.SigningKey);
            values["safety_number"] = SafetyNumber.ForIdentities(alice.PublicKey, "alice", bob.PublicKey, "bob");
        }

        // The transcript: Bob's device from the "bob" stream (identity, SPK 7, OPK 42, ML-KEM 9),
        // Alice's identity from "alice", her session's randomness (EK, ML-KEM m, first ratchet key) from "alice session".
        using (ResponderDevice bobDevice = new(new SeededRandom("parley e2e vector bob")))
        using (IdentityKeyPair aliceIdentity = IdentityKeyPair.Generate(new SeededRandom("parley e2e vector alice")))
        {
            values["transcript_bundle_sha256"] = Hex(SHA256.HashData(bobDevice.Bundle.Encode()));
            using (PqxdhOutcome outcome = PqxdhHandshake.Initiate(aliceIdentity, bobDevice.Bundle, new SeededRandom("parley e2e vector alice session")))
            {
                values["transcript_pqxdh_sk"] = Hex(outcome.SharedKey.ExportForTesting());
            }
            using E2eSession session = E2eSession.Initiate(aliceIdentity, bobDevice.Bundle, new SeededRandom("parley e2e vector alice session"));
            byte[] envelope = session.Encrypt(Utf8("Hello, Bob"));
            int headerLength = (envelope[2] << 8) | envelope[3];
            values["transcript_first_ratchet_header"] = Hex(envelope.AsSpan(4 + headerLength, RatchetHeader.EncodedSize));
            values["transcript_first_envelope_sha256"] = Hex(SHA256.HashData(envelope));
            values["transcript_first_envelope"] = Hex(envelope);

            E2eSessionAcceptance accepted = E2eSession.Accept(bobDevice.Identity, bobDevice.SignedPrekey, bobDevice.OneTimePrekey, bobDevice.KemPrekey, envelope);
            accepted.Session.Dispose();
            Assert.Equal(Utf8("Hello, Bob"), accepted.Plaintext);
        }
        return values;
    }

    [Fact]
    public void The_code_reproduces_every_vector()
    {
        Dictionary<string, string> computed = Compute();
        Assert.Equal(Expected.Keys.Order(), computed.Keys.Order());
        string[] mismatches = Expected.Where(e => e.Value != computed[e.Key]).Select(e => $"{e.Key}: expected {e.Value}, computed {computed[e.Key]}").ToArray();
        Assert.True(mismatches.Length == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void The_vectors_document_prints_what_the_code_computes()
    {
        string document = File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "docs", "e2e-vectors.md"));
        Dictionary<string, string> printed = VectorLine().Matches(document).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal(Compute(), printed);
    }

    [Fact]
    public void The_transcript_is_deterministic()
    {
        Assert.Equal(Compute()["transcript_first_envelope_sha256"], Compute()["transcript_first_envelope_sha256"]);
    }

    [GeneratedRegex(@"^([a-z0-9_]+) = ([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex VectorLine();
}
