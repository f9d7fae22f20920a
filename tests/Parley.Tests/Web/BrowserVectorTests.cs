using System.Text.Json;
using System.Text.RegularExpressions;

namespace Parley.Tests.Web;

/// <summary>
/// The browser client's own cryptography (WebCrypto in chromium, ML-KEM from the vendored file)
/// reproduces the vectors of PROTOCOL.md §10 and docs/e2e-vectors.md, read from the documents
/// themselves, so the second implementation is checked against the same text as the first.
/// </summary>
public partial class BrowserVectorTests
{
    [Fact]
    public async Task The_browser_reproduces_the_channel_and_end_to_end_vectors_of_the_documents()
    {
        Dictionary<string, string> channel = VectorBlock(File.ReadAllText(RepoFile("PROTOCOL.md")), "### x25519, aes-256-gcm, ed25519\n");
        Dictionary<string, string> e2e = E2eVectors(File.ReadAllText(RepoFile("docs/e2e-vectors.md")));
        JsonElement result = await ServedPage.EvaluateAsync(VectorScript, new { channel, e2e });
        Dictionary<string, string> got = result.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
        Assert.Equal(channel["TH"], got["TH"]);
        Assert.Equal(channel["PRK"], got["PRK"]);
        Assert.Equal(channel["c2s_key"], got["c2s_key"]);
        Assert.Equal(channel["c2s_iv"], got["c2s_iv"]);
        Assert.Equal(channel["verify_data"], got["verify_data"]);
        Assert.Equal(channel["client_finished_frame"], got["client_finished_frame"]);
        Assert.Equal(channel["client_record_1"], got["client_record_1"]);
        Assert.True("hello, client" == got["server_record_0"], got["server_record_0"]);
        Assert.Equal("true", got["signature"]);
        Assert.Equal("true", got["tampered_record_refused"]);
        foreach (string name in new[] { "kdf_rk_root", "kdf_rk_chain", "kdf_ck_message", "kdf_ck_chain", "message_aead_key", "message_aead_nonce",
            "message_ciphertext", "x25519_a_public", "x25519_shared", "ed25519_alice_public", "ed25519_bob_public", "safety_number" })
        {
            Assert.True(e2e[name] == got[name], $"{name}: the document says {e2e[name]}, the browser computed {got[name]}");
        }
        Assert.Equal(e2e["transcript_pqxdh_sk"], got["transcript_pqxdh_sk"]);
        Assert.Equal("Hello, Bob", got["transcript_plaintext"]);
    }

    private const string VectorScript = """
        async ({ channel, e2e }) => {
          const b = await import('/js/bytes.js');
          const c = await import('/js/crypto.js');
          const ch = await import('/js/channel.js');
          const s = await import('/js/e2e/session.js');
          const k = await import('/js/e2e/keys.js');
          const sn = await import('/js/e2e/safety.js');
          const h = b.fromHex, x = b.hex, out = {};
          // ── PROTOCOL.md §10: x25519, aes-256-gcm, ed25519 ──
          const ch1 = h(channel.client_hello_frame), sh = h(channel.server_hello_frame);
          const client = await c.x25519FromScalar(h(channel.client_share_private));
          const server = await c.x25519FromScalar(h(channel.server_share_private));
          const z = await c.x25519(client.privateKey, server.publicKey);
          const th = await c.sha256(b.concat(ch1, sh));
          out.TH = x(th);
          const keys = await ch.keySchedule(z, th);
          out.PRK = x(keys.prk); out.c2s_key = x(keys.c2s.key); out.c2s_iv = x(keys.c2s.iv);
          out.verify_data = x(await ch.verifyData(keys.finishedKey, th));
          out.client_finished_frame = x(await ch.sealRecord(keys.c2s, 0x14, await ch.verifyData(keys.finishedKey, th)));
          out.client_record_1 = x(await ch.sealRecord(keys.c2s, 0x17, b.utf8('hello, server')));
          const record = h(channel.server_record_0);
          const tampered = record.slice(); tampered[tampered.length - 1] ^= 1;
          out.tampered_record_refused = String(await ch.openRecord(keys.s2c, record.length - 4, tampered.subarray(4)) === null);
          const opened = await ch.openRecord(keys.s2c, record.length - 4, record.subarray(4));
          out.server_record_0 = opened === null ? 'did not open' : b.fromUtf8(opened);
          // The ServerHello signature over the transcript up to the signature field.
          const body = sh.subarray(4), sigStart = body.length - 2 - 64;
          const toSign = b.concat(b.utf8('parley/1 server signature'), Uint8Array.of(0), await c.sha256(b.concat(ch1, body.subarray(0, sigStart))));
          out.signature = String(await c.ed25519Verify(h(channel.server_identity_public), body.subarray(sigStart + 2), toSign));
          // ── docs/e2e-vectors.md §1–§3 ──
          const p = a => Uint8Array.from({ length: 32 }, (_, i) => a + i);
          const [root, chain] = await s.kdfRk(p(0x00), p(0x20)); out.kdf_rk_root = x(root); out.kdf_rk_chain = x(chain);
          const [mk, ck] = await s.kdfCk(p(0x40)); out.kdf_ck_message = x(mk); out.kdf_ck_chain = x(ck);
          const m = await s.messageKeys(p(0x60)); out.message_aead_key = x(m.key); out.message_aead_nonce = x(m.nonce);
          const header = s.ratchetHeader(p(0xa0), 3, 7);
          out.message_ciphertext = x(await s.sealMessage(p(0x60), b.utf8('Parley e2e vector'), b.concat(Uint8Array.from({ length: 16 }, (_, i) => 0x80 + i), header)));
          const xa = await c.x25519FromScalar(p(0x01)), xb = await c.x25519FromScalar(p(0x41));
          out.x25519_a_public = x(await c.exportRaw(xa.publicKey));
          out.x25519_shared = x(await c.x25519(xa.privateKey, xb.publicKey));
          const ea = await c.ed25519FromSeed(p(0x21)), eb = await c.ed25519FromSeed(p(0x61));
          const eaPub = await c.exportRaw(ea.publicKey), ebPub = await c.exportRaw(eb.publicKey);
          out.ed25519_alice_public = x(eaPub); out.ed25519_bob_public = x(ebPub);
          out.safety_number = await sn.safetyNumber(b.concat(eaPub, new Uint8Array(96)), 'alice', b.concat(ebPub, new Uint8Array(96)), 'bob');
          // ── §4: Bob's side of the transcript, from the seeded streams and the printed envelope ──
          async function stream(label) {
            let buf = new Uint8Array(0), i = 0;
            return async n => {
              while (buf.length < n) { buf = b.concat(buf, await c.sha256(b.concat(b.utf8(label), b.u32(i++)))); }
              const r = buf.slice(0, n); buf = buf.slice(n); return r;
            };
          }
          const bob = await stream('parley e2e vector bob');
          const bobEd = await c.ed25519FromSeed(await bob(32)), bobX = await c.x25519FromScalar(await bob(32));
          const spk = await c.x25519FromScalar(await bob(32)), opk = await c.x25519FromScalar(await bob(32)), kemSeed = await bob(64);
          const identity = await k.identityFrom(bobEd, bobX);
          const accepted = await s.accept(identity, {
            signed: { id: 7, privateKey: spk.privateKey, publicKey: await c.exportRaw(spk.publicKey) },
            oneTime: { id: 42, privateKey: opk.privateKey }, kem: { id: 9, seed: kemSeed },
          }, h(e2e.transcript_first_envelope));
          out.transcript_pqxdh_sk = x(accepted.session.sk);
          out.transcript_plaintext = b.fromUtf8(accepted.plaintext);
          return out;
        }
        """;

    /// <summary>
    /// The browser's sender keys (web/js/e2e/senderkey.js) compute PROTOCOL.md §14.7 line by line,
    /// read each other's messages out of order, and refuse a replay, a forgery, a message too far
    /// ahead and a malformed distribution with §14.4's errors, leaving the key as it was.
    /// </summary>
    [Fact]
    public async Task The_browser_reproduces_the_sender_key_vectors_and_refuses_what_section_14_refuses()
    {
        string protocol = File.ReadAllText(RepoFile("PROTOCOL.md"));
        int start = protocol.IndexOf("### 14.7 Test vectors", StringComparison.Ordinal);
        Assert.True(start >= 0, "PROTOCOL.md has no §14.7");
        Dictionary<string, string> group = E2eVectors(protocol[start..protocol.IndexOf("```python", start, StringComparison.Ordinal)]);
        Assert.Equal(13, group.Count);
        JsonElement result = await ServedPage.EvaluateAsync(SenderKeyScript);
        Dictionary<string, string> got = result.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
        foreach ((string name, string value) in group)
        {
            Assert.True(got.TryGetValue(name, out string? computed) && computed == value, $"{name}: the document says {value}, the browser computed {computed}");
        }
        Assert.Equal("Hello, group", got["read_0_after_1"]);
        Assert.Equal("0", got["skipped_after_1"]);
        Assert.Equal("1", got["skipped_after_1_first"]);
        Assert.Equal("DuplicateMessage", got["replay"]);
        Assert.Equal("InvalidSignature", got["forged"]);
        Assert.Equal("InvalidSignature", got["other_signing_key"]);
        Assert.Equal("TooManySkippedMessages", got["too_far_ahead"]);
        Assert.Equal("1003", got["within_reach"]);
        Assert.Equal("MalformedData", got["short_distribution"]);
        Assert.Equal("UnknownVersion", got["version_2_distribution"]);
        Assert.Equal("SessionMismatch", got["other_group"]);
        Assert.Equal("unchanged", got["state_after_refusals"]);
    }

    private const string SenderKeyScript = """
        async () => {
          const b = await import('/js/bytes.js');
          const c = await import('/js/crypto.js');
          const sk = await import('/js/e2e/senderkey.js');
          const g = await import('/js/e2e/groups.js');
          const x = b.hex, out = {};
          const code = async f => { try { await f(); return 'accepted'; } catch (e) { return e.code ?? e.message; } };
          // §14.7's randomness: stream("parley group vector alice"), drawn as key id, CK_0, Ed25519 seed.
          let r = new Uint8Array(0);
          for (let i = 0; r.length < 68; i++) r = b.concat(r, await c.sha256(b.concat(b.utf8('parley group vector alice'), b.u32(i))));
          const group = Uint8Array.from({ length: 16 }, (_, i) => i);
          const signing = await c.ed25519FromSeed(r.slice(36, 68));
          let own = await sk.generate(group, { keyId: b.readU32(r, 0), chainKey: r.slice(4, 36), signing });
          out.group_key_id = x(b.u32(own.keyId));
          out.group_chain_key_0 = x(own.chainKey);
          out.group_signing_public_key = x(own.signingPublic);
          const distribution = sk.distribution(own);
          out.group_distribution = x(distribution);
          let [mk, ck] = await sk.chainStep(own.chainKey);
          out.group_message_key_0 = x(mk); out.group_chain_key_1 = x(ck);
          const keys = await sk.messageKeys(mk);
          out.group_aead_key_0 = x(keys.key); out.group_aead_nonce_0 = x(keys.nonce);
          [mk, ck] = await sk.chainStep(ck);
          out.group_message_key_1 = x(mk); out.group_chain_key_2 = x(ck);
          let sent = await sk.encrypt(own, b.utf8('Hello, group')); own = sent.own;
          const m0 = sent.message; out.group_message_0 = x(m0);
          sent = await sk.encrypt(own, new Uint8Array(0)); own = sent.own;
          const m1 = sent.message; out.group_message_1 = x(m1);
          out.group_key_request = x(g.encodeKeyRequest(group, own.keyId, b.hex(Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i))));
          // A member reads 1 before 0: 0's key is kept skipped, then used once.
          let key = sk.fromDistribution(distribution);
          let opened = await sk.decrypt(key, m1); key = opened.key;
          out.skipped_after_1_first = String(key.skipped.length);
          opened = await sk.decrypt(key, m0); key = opened.key;
          out.read_0_after_1 = b.fromUtf8(opened.plaintext);
          out.skipped_after_1 = String(key.skipped.length);
          const before = JSON.stringify({ i: key.iteration, ck: x(key.chainKey), s: key.skipped.length });
          out.replay = await code(() => sk.decrypt(key, m1));
          const forged = m1.slice(); forged[30] ^= 1;
          out.forged = await code(() => sk.decrypt(key, forged));
          // Another member holds the same chain but not the signing key: its message is refused unread.
          const mallory = await sk.generate(group, { keyId: own.keyId, chainKey: key.chainKey.slice() });
          out.other_signing_key = await code(async () => sk.decrypt(key, (await sk.encrypt({ ...mallory, iteration: key.iteration }, b.utf8('not alice'))).message));
          // 1,001 ahead of the chain is refused; the message just within reach (1,000 ahead) reads.
          let far = own, farMessage = null;
          for (let i = 0; i <= 1001; i++) { const s = await sk.encrypt(far, b.utf8('far')); far = s.own; if (i === 1000) farMessage = s.message; if (i === 1001) out.too_far_ahead = await code(() => sk.decrypt(key, s.message)); }
          out.state_after_refusals = JSON.stringify({ i: key.iteration, ck: x(key.chainKey), s: key.skipped.length }) === before ? 'unchanged' : 'changed';
          out.within_reach = String((await sk.decrypt(key, farMessage)).key.iteration);
          out.short_distribution = await code(async () => sk.fromDistribution(distribution.subarray(0, 88)));
          const v2 = distribution.slice(); v2[0] = 2;
          out.version_2_distribution = await code(async () => sk.fromDistribution(v2));
          const otherGroup = distribution.slice(); otherGroup[1] ^= 0xff;
          out.other_group = await code(() => sk.decrypt(sk.fromDistribution(otherGroup), m0));
          return out;
        }
        """;

    /// <summary>
    /// The browser's files (web/js/e2e/files.js, the vendored SHA-256) compute PROTOCOL.md §15.3 line
    /// by line, and refuse what §15.1 and §15.2 refuse: a chunk altered, moved to another index,
    /// marked last when it is not, of the wrong length; an offer with a byte too many, a chunk size
    /// out of range, another version.
    /// </summary>
    [Fact]
    public async Task The_browser_reproduces_the_file_vectors_and_refuses_what_section_15_refuses()
    {
        string protocol = File.ReadAllText(RepoFile("PROTOCOL.md"));
        int start = protocol.IndexOf("### 15.3 Vectors", StringComparison.Ordinal);
        Assert.True(start >= 0, "PROTOCOL.md has no §15.3");
        Dictionary<string, string> vectors = IndentedVectorLine().Matches(protocol[start..protocol.IndexOf("The python3 that computed them", start, StringComparison.Ordinal)])
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal(15, vectors.Count);
        JsonElement result = await ServedPage.EvaluateAsync(FileScript);
        Dictionary<string, string> got = result.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
        foreach ((string name, string value) in vectors)
        {
            Assert.True(got.TryGetValue(name, out string? computed) && computed == value, $"{name}: the document says {value}, the browser computed {computed}");
        }
        Assert.Equal("2500 bytes, the same", got["opened"]);
        Assert.Equal("DecryptionFailed", got["altered"]);
        Assert.Equal("DecryptionFailed", got["moved"]);
        Assert.Equal("DecryptionFailed", got["cut_short"]);
        Assert.Equal("DecryptionFailed", got["wrong_length"]);
        Assert.Equal("MalformedData", got["offer_trailing_byte"]);
        Assert.Equal("MalformedData", got["offer_chunk_size_out_of_range"]);
        Assert.Equal("UnsupportedVersion", got["offer_version_2"]);
        Assert.Equal("report.pdf application/pdf 2500 1024 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", got["offer_read"]);
        Assert.Equal("passwd|received-file|a_b|received-file|bashrc|_CON.txt|a_b|x_y", got["safe_names"]);
    }

    private const string FileScript = """
        async () => {
          const b = await import('/js/bytes.js');
          const f = await import('/js/e2e/files.js');
          const { sha256 } = await import('/vendor/sha256.js');
          const x = b.hex, out = {};
          const code = async g => { try { await g(); return 'accepted'; } catch (e) { return e.code ?? e.message; } };
          const key = Uint8Array.from({ length: 32 }, (_, i) => i), id = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
          const plaintext = Uint8Array.from({ length: 2500 }, (_, j) => j % 251);
          const layout = f.layout(2500, 1024);
          out.file_plaintext_sha256 = x(sha256(plaintext));
          const sealed = [];
          for (let i = 0; i < layout.count; i++) {
            const c = await f.sealChunk(key, id, layout, i, plaintext.subarray(i * 1024, i * 1024 + layout.plaintextLength(i)));
            sealed.push(c);
            out[`file_chunk${i}_nonce`] = x(f.chunkNonce(i));
            out[`file_chunk${i}_ad`] = x(f.chunkAd(id, i, i === layout.count - 1));
            out[`file_chunk${i}_tag`] = x(c.subarray(c.length - 16));
            out[`file_chunk${i}_ciphertext_sha256`] = x(sha256(c));
          }
          // Read back through the vendored hash a chunk at a time, as a download does.
          const h = sha256.create();
          let length = 0;
          for (let i = 0; i < layout.count; i++) { const p = await f.openChunk(key, id, layout, i, sealed[i]); h.update(p); length += p.length; }
          out.opened = `${length} bytes, ${x(h.digest()) === out.file_plaintext_sha256 ? 'the same' : 'another'}`;
          const altered = sealed[1].slice(); altered[5] ^= 1;
          out.altered = await code(() => f.openChunk(key, id, layout, 1, altered));
          out.moved = await code(() => f.openChunk(key, id, layout, 0, sealed[1]));
          // Cut after chunk 1: a two-chunk layout whose last is chunk 1, which was not sealed as last.
          out.cut_short = await code(() => f.openChunk(key, id, f.layout(2048, 1024), 1, sealed[1]));
          out.wrong_length = await code(() => f.openChunk(key, id, layout, 2, sealed[1]));
          const small = f.layout(19, 1024);
          out.file_small_ciphertext = x(await f.sealChunk(key, id, small, 0, b.utf8('Parley file vector!')));
          const offer = f.encodeOffer({ fileId: x(id), size: 2500, chunkSize: 1024, key, sha256: sha256(plaintext), name: 'report.pdf', contentType: 'application/pdf' });
          out.file_offer = x(offer);
          const read = f.decodeOffer(offer);
          out.offer_read = `${read.name} ${read.contentType} ${read.size} ${read.chunkSize} ${read.fileId}`;
          out.offer_trailing_byte = await code(async () => f.decodeOffer(b.concat(offer, new Uint8Array(1))));
          const tiny = offer.slice(); tiny[25] = 0; tiny[26] = 0; tiny[27] = 0x03; tiny[28] = 0xff;
          out.offer_chunk_size_out_of_range = await code(async () => f.decodeOffer(tiny));
          const v2 = offer.slice(); v2[0] = 2;
          out.offer_version_2 = await code(async () => f.decodeOffer(v2));
          out.safe_names = ['../../etc/passwd', '..', 'a\u0001b', '', '.bashrc', 'CON.txt', 'a\u2028b', 'x\u{E0041}y'].map(f.safeFileName).join('|');
          return out;
        }
        """;

    internal static string RepoFile(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Parley.sln")))
            {
                return Path.Combine(d.FullName, relative);
            }
        }
        throw new FileNotFoundException("the repository root (Parley.sln) is not above the test binaries");
    }

    /// <summary>The "name =" lines of one generated vector block, each followed by indented hex lines.</summary>
    private static Dictionary<string, string> VectorBlock(string document, string heading)
    {
        int start = document.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"PROTOCOL.md has no block '{heading.Trim()}'");
        // Up to and including the newline before the closing fence, so the last value is whole.
        string block = document[start..(document.IndexOf("\n```\n", document.IndexOf("```", start, StringComparison.Ordinal) + 3, StringComparison.Ordinal) + 1)];
        Dictionary<string, string> values = [];
        foreach (Match m in VectorLine().Matches(block))
        {
            values[m.Groups[1].Value] = Regex.Replace(m.Groups[2].Value, @"\s+", "");
        }
        return values;
    }

    private static Dictionary<string, string> E2eVectors(string document) =>
        E2eLine().Matches(document).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    [GeneratedRegex(@"^(\w+)(?: \([^)]*\))? =\n((?:    [0-9a-f]+\n)+)", RegexOptions.Multiline)]
    private static partial Regex VectorLine();

    [GeneratedRegex(@"^(\w+) = ([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex E2eLine();

    /// <summary>§15.3's lines, indented as a code block.</summary>
    [GeneratedRegex(@"^    (\w+) = ([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex IndentedVectorLine();
}
