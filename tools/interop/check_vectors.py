#!/usr/bin/env python3
"""An independent reading of PROTOCOL.md: recomputes every §10 vector (and §10.1's resumption) with python-cryptography
(OpenSSL underneath, none of Parley's code) from the fixed inputs and the spec's formulas.

    python3 tools/interop/check_vectors.py [PROTOCOL.md]

Needs python3 and the `cryptography` package (Debian: python3-cryptography)."""
import hashlib, hmac, re, struct, sys
from cryptography.hazmat.primitives.asymmetric import x25519, ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives import padding

P = int("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
KEYLEN = {"aes-256-gcm": 32, "chacha20-poly1305": 32, "aes-256-cbc-hmac-sha256": 64}

def hkdf_extract(salt, ikm): return hmac.new(salt, ikm, hashlib.sha256).digest()
def hkdf_expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
        if i > 255: raise ValueError
    return out[:n]

def agree(group, ours, theirs_public):
    if group == "x25519":
        return x25519.X25519PrivateKey.from_private_bytes(ours).exchange(x25519.X25519PublicKey.from_public_bytes(theirs_public))
    if group == "p256":
        k = ec.derive_private_key(int.from_bytes(ours, "big"), ec.SECP256R1())
        return k.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), theirs_public))
    y = int.from_bytes(theirs_public, "big"); assert 2 <= y <= P - 2
    return pow(y, int.from_bytes(ours, "big"), P).to_bytes(256, "big")

def public(group, private):
    if group == "x25519":
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
        return x25519.X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if group == "p256":
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
        return ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1()).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return pow(2, int.from_bytes(private, "big"), P).to_bytes(256, "big")

def open_record(suite, key, iv, seq, frame):
    length = struct.unpack(">I", frame[:4])[0]; assert length == len(frame) - 4
    rtype, ct = frame[4], frame[5:]
    nonce = iv[:4] + (int.from_bytes(iv[4:], "big") ^ seq).to_bytes(8, "big")
    aad = frame[:5]
    if suite == "aes-256-gcm": return rtype, AESGCM(key).decrypt(nonce, ct, aad)
    if suite == "chacha20-poly1305": return rtype, ChaCha20Poly1305(key).decrypt(nonce, ct, aad)
    enc, mac = key[:32], key[32:]
    body, tag = ct[:-32], ct[-32:]
    assert hmac.compare_digest(tag, hmac.new(mac, nonce + struct.pack(">Q", len(aad)) + aad + body, hashlib.sha256).digest())
    e = Cipher(algorithms.AES(enc), modes.ECB()).encryptor(); civ = e.update(nonce + b"\0" * 4) + e.finalize()
    d = Cipher(algorithms.AES(enc), modes.CBC(civ)).decryptor(); padded = d.update(body) + d.finalize()
    u = padding.PKCS7(128).unpadder(); return rtype, u.update(padded) + u.finalize()

def name(buf, i): n = buf[i]; return buf[i + 1:i + 1 + n].decode(), i + 1 + n
def vec16(buf, i): n = struct.unpack(">H", buf[i:i + 2])[0]; return buf[i + 2:i + 2 + n], i + 2 + n

def seed(label): return hashlib.sha256(b"parley/1 test vector " + label.encode()).digest()

def check(title, v):
    group, suite = [s.strip() for s in title.split(",")][:2]
    # §10: every fixed input is SHA-256("parley/1 test vector " || label), truncated to 32 bytes for keys
    assert v["client_random"] == seed("client random") and v["server_random"] == seed("server random")
    assert v["client_share_private"] == seed(f"client {group} share")[:32]
    assert v["server_share_private"] == seed(f"server {group} share")[:32]
    assert v["server_identity_seed"] == seed("server identity")
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    assert ed25519.Ed25519PrivateKey.from_private_bytes(v["server_identity_seed"]).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw) == v["server_identity_public"]
    assert "client_identity_seed" not in v or v["client_identity_seed"] == seed("client identity")
    ch, sh = v["client_hello_frame"], v["server_hello_frame"]
    assert public(group, v["client_share_private"]) == ch[-len(public(group, v["client_share_private"])):]
    # ServerHello fields (§5.2)
    i = 4 + 1 + 2 + 32
    g, i = name(sh, i); s, i = name(sh, i); share, i = vec16(sh, i); alg, i = name(sh, i); ident, i = vec16(sh, i)
    signed_end = i; sig, i = vec16(sh, i); assert i == len(sh) and (g, s) == (group, suite)
    assert share == public(group, v["server_share_private"])
    ed25519.Ed25519PublicKey.from_public_bytes(ident).verify(
        sig, b"parley/1 server signature\0" + hashlib.sha256(ch + sh[4:signed_end]).digest())
    z = agree(group, v["client_share_private"], share); assert z == v["Z"]
    th = hashlib.sha256(ch + sh).digest(); assert th == v["TH"]
    prk = hkdf_extract(th, z); assert prk == v["PRK"]
    c2s, s2c = hkdf_expand(prk, b"parley/1 c2s traffic", 32), hkdf_expand(prk, b"parley/1 s2c traffic", 32)
    fk = hkdf_expand(prk, b"parley/1 c2s finished", 32)
    assert (c2s, s2c, fk) == (v["c2s_traffic_secret"], v["s2c_traffic_secret"], v["finished_key"])
    ck, civ = hkdf_expand(c2s, b"parley/1 key", KEYLEN[suite]), hkdf_expand(c2s, b"parley/1 iv", 12)
    sk, siv = hkdf_expand(s2c, b"parley/1 key", KEYLEN[suite]), hkdf_expand(s2c, b"parley/1 iv", 12)
    assert (ck, civ) == (v["c2s_key"], v["c2s_iv"])
    seq = 0
    if "client_identity_frame" in v:   # §5.7: ClientIdentity first, under the c2s key at sequence 0
        rtype, payload = open_record(suite, ck, civ, 0, v["client_identity_frame"]); assert rtype == 0x13
        a, j = name(payload, 0); key, j = vec16(payload, j); csig, j = vec16(payload, j); assert j == len(payload) and a == "ed25519"
        assert key == v["client_identity_public"]
        ed25519.Ed25519PublicKey.from_public_bytes(key).verify(csig, b"parley/1 client signature\0" + th)
        seq = 1
    assert open_record(suite, ck, civ, seq, v["client_finished_frame"]) == (0x14, hmac.new(fk, th, hashlib.sha256).digest())
    record = [k for k in v if k.startswith("client_record_")][0]
    assert open_record(suite, ck, civ, seq + 1, v[record]) == (0x17, b"hello, server")
    assert open_record(suite, sk, siv, 0, v['server_record_0 ("hello, client")']) == (0x17, b"hello, client")
    print(f"OK  {title}")

def check_resumption(issue, resume):
    """§5.8-§5.9 and §6.2: the ticket, its key and contents, and the resumed handshake's schedule."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    group, suite = "x25519", "aes-256-gcm"
    ident_seed = seed("server identity")
    ident_pub = ed25519.Ed25519PrivateKey.from_private_bytes(ident_seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    v = issue
    assert b"\x0fsession-tickets" in v["client_hello_frame"]   # §5.8: the signal in the suites list
    ch, sh = v["client_hello_frame"], v["server_hello_frame"]
    i = 4 + 1 + 2 + 32
    g, i = name(sh, i); s, i = name(sh, i); share, i = vec16(sh, i); alg, i = name(sh, i); ident, i = vec16(sh, i)
    signed_end = i; sig, i = vec16(sh, i); assert ident == ident_pub
    ed25519.Ed25519PublicKey.from_public_bytes(ident).verify(sig, b"parley/1 server signature\0" + hashlib.sha256(ch + sh[4:signed_end]).digest())
    z = agree(group, seed("client x25519 share"), share)
    th = hashlib.sha256(ch + sh).digest(); assert th == v["TH"]
    prk = hkdf_extract(th, z); assert prk == v["PRK"]
    psk = hkdf_expand(prk, b"parley/1 resumption", 32); assert psk == v["resumption_secret"]
    # ticket_key = HKDF-SHA256(salt = "parley/1 ticket key", IKM = identity seed, info = "ed25519" || 0 || public key)
    tk = hkdf_expand(hkdf_extract(b"parley/1 ticket key", ident_seed), b"ed25519\0" + ident_pub, 32); assert tk == v["ticket_key"]
    assert v["ticket_nonce"] == seed("ticket nonce")[:12]
    def open_ticket(ticket):
        contents = AESGCM(tk).decrypt(ticket[:12], ticket[12:], b"parley/1 ticket")
        fmt, issued, lifetime = contents[0], struct.unpack(">Q", contents[1:9])[0], struct.unpack(">I", contents[9:13])[0]
        gg, j = name(contents, 13); ss, j = name(contents, j); secret = contents[j:]
        assert (fmt, lifetime, gg, ss, len(secret)) == (1, 86400, group, suite, 32)
        return issued, secret
    issued, secret = open_ticket(v["ticket"]); assert v["ticket"][:12] == v["ticket_nonce"]
    assert issued == struct.unpack(">Q", v["issued_at"])[0] and secret == psk
    assert AESGCM(tk).decrypt(v["ticket_nonce"], v["ticket"][12:], b"parley/1 ticket") == v["ticket_plaintext"]
    c2s, s2c = hkdf_expand(prk, b"parley/1 c2s traffic", 32), hkdf_expand(prk, b"parley/1 s2c traffic", 32)
    sk, siv = hkdf_expand(s2c, b"parley/1 key", 32), hkdf_expand(s2c, b"parley/1 iv", 12)
    rtype, payload = open_record(suite, sk, siv, 0, v["new_session_ticket_frame"]); assert rtype == 0x19
    lifetime = struct.unpack(">I", payload[:4])[0]; ticket, j = vec16(payload, 4); assert j == len(payload)
    assert (lifetime, ticket) == (86400, v["ticket"])
    # The resumed handshake (§5.9, §6.2)
    r = resume
    for label, key in [("client resume random", "client_random"), ("server resume random", "server_random"),
                       ("client x25519 resume share", "client_share_private"), ("server x25519 resume share", "server_share_private")]:
        assert r[key] == seed(label), key
    ch, sh = r["resuming_client_hello_frame"], r["resumed_server_hello_frame"]
    assert ch[4] == 0x04 and sh[4] == 0x05
    # ResumingClientHello = ClientHello's fields || opaque16 ticket
    i = 4 + 1 + 2; assert ch[i:i + 32] == r["client_random"]; i += 32
    for _ in range(3):
        n = ch[i]; i += 1
        for _ in range(n): _, i = name(ch, i)
    sg, i = name(ch, i); cshare, i = vec16(ch, i); offered, i = vec16(ch, i); assert i == len(ch) and sg == group
    assert cshare == public(group, r["client_share_private"]) and offered == v["ticket"]
    i = 4 + 1 + 2; assert sh[i:i + 32] == r["server_random"]; i += 32
    g, i = name(sh, i); s, i = name(sh, i); share, i = vec16(sh, i); assert i == len(sh) and (g, s) == (group, suite)
    assert share == public(group, r["server_share_private"])
    z = agree(group, r["client_share_private"], share); assert z == r["Z"]
    th = hashlib.sha256(ch + sh).digest(); assert th == r["TH"]
    psk_salt = hkdf_extract(psk, th); assert psk_salt == r["psk_salt"]
    prk = hkdf_extract(psk_salt, z); assert prk == r["PRK"]
    c2s, s2c = hkdf_expand(prk, b"parley/1 c2s traffic", 32), hkdf_expand(prk, b"parley/1 s2c traffic", 32)
    fk = hkdf_expand(prk, b"parley/1 c2s finished", 32)
    assert (c2s, s2c, fk) == (r["c2s_traffic_secret"], r["s2c_traffic_secret"], r["finished_key"])
    ck, civ = hkdf_expand(c2s, b"parley/1 key", 32), hkdf_expand(c2s, b"parley/1 iv", 12)
    sk, siv = hkdf_expand(s2c, b"parley/1 key", 32), hkdf_expand(s2c, b"parley/1 iv", 12)
    verify = hmac.new(fk, th, hashlib.sha256).digest(); assert verify == r["verify_data"]
    assert open_record(suite, ck, civ, 0, r["client_finished_frame"]) == (0x14, verify)
    assert open_record(suite, ck, civ, 1, r['client_record_1 ("hello, server")']) == (0x17, b"hello, server")
    nxt = hkdf_expand(prk, b"parley/1 resumption", 32); assert nxt == r["next_resumption_secret"]
    rtype, payload = open_record(suite, sk, siv, 0, r["new_session_ticket_frame"]); assert rtype == 0x19
    ticket, j = vec16(payload, 4); assert ticket[:12] == r["ticket_nonce"] == seed("ticket nonce 2")[:12]
    issued2, secret2 = open_ticket(ticket); assert secret2 == nxt and issued2 == issued + 3600
    assert open_record(suite, sk, siv, 1, r['server_record_1 ("hello, client")']) == (0x17, b"hello, client")
    print("OK  resumption: ticket issued, opened, and the resumed handshake's schedule")

def blocks(section, heading):
    found = []
    for title, block in re.findall(heading + r" (.+?)\n\n```\n(.*?)```", section, re.S):
        values, key = {}, None
        for line in block.splitlines():
            if line.endswith(" ="): key = line[:-2]; values[key] = ""
            else: values[key] += line.strip()
        found.append((title, {k: bytes.fromhex(h) for k, h in values.items()}))
    return found

text = open(sys.argv[1] if len(sys.argv) > 1 else "PROTOCOL.md").read()
count = 0
for title, values in blocks(text.split("<!-- BEGIN GENERATED VECTORS -->")[1].split("<!-- END GENERATED VECTORS -->")[0], "###"):
    check(title, values); count += 1
assert count >= 6, count
resumption = blocks(text.split("<!-- BEGIN GENERATED RESUMPTION VECTORS -->")[1].split("<!-- END GENERATED RESUMPTION VECTORS -->")[0], "####")
assert len(resumption) == 2, len(resumption)
check_resumption(resumption[0][1], resumption[1][1]); count += 1
print(f"{count} vectors reproduced independently")
