#!/usr/bin/env python3
"""An independent reading of PROTOCOL.md: recomputes every §10 vector (and §10.1's resumption) with python-cryptography
(OpenSSL underneath, none of Parley's code) from the fixed inputs and the spec's formulas; and decodes and re-encodes
every §11.9 compact-form vector from the layout table alone, refusing malformed records where §11.9 says.

    python3 tools/interop/check_vectors.py [PROTOCOL.md]

Needs python3 and the `cryptography` package (Debian: python3-cryptography)."""
import base64, hashlib, hmac, itertools, json, re, struct, sys
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

# §11.9 the compact form: i64 signed, text8/text16 u8/u16 length + strict UTF-8, bytes32 u32 length + bytes
class Malformed(ValueError):
    def __init__(self, offset, good, why): super().__init__(f"malformed from byte {offset}: {why}"); self.offset, self.good = offset, good

class Reader:
    def __init__(r, buf): r.buf, r.i, r.cuts = buf, 0, {0}
    def take(r, n):
        if r.i + n > len(r.buf): raise ValueError("runs past the end of the record")
        r.i += n; r.cuts.add(r.i); return r.buf[r.i - n:r.i]
    def int(r, n, signed=False): return int.from_bytes(r.take(n), "big", signed=signed)
    def text(r, n): return r.take(r.int(n)).decode("utf-8")   # strict: overlongs, surrogates, cut sequences refused

def compact_message(r):
    t = r.int(1)
    if t == 0x01:
        m = {"type": "send", "ref": r.int(8, True), "to": r.text(1)}; dev = r.text(1)
        m.update(contentType=r.text(2), body=r.take(r.int(4)))
        if dev: m["toDevice"] = dev                       # 0: for the account
    elif t == 0x02:
        n = r.int(2)
        if not 1 <= n <= 4096: raise ValueError(f"an ack names 1 to 4096 ids, not {n}")
        m = {"type": "ack", "messageIds": [r.int(8, True) for _ in range(n)]}
    elif t == 0x03:
        flags = r.int(1)
        if flags & ~1: raise ValueError(f"undefined flag bits {flags:#04x}")
        m = {"type": "message", "messageId": r.int(8, True), "timestamp": r.int(8, True), "from": r.text(1)}
        opt = {"fromDevice": r.text(1)}; m["to"] = r.text(1); opt["toDevice"] = r.text(1)
        m.update(contentType=r.text(2), body=r.take(r.int(4)), broadcast=bool(flags & 1), **{k: v for k, v in opt.items() if v})
    elif t == 0x04:
        status, flags = r.int(1), r.int(1)
        if status > 1 or flags & ~1: raise ValueError(f"undefined status {status} or flag bits {flags:#04x}")
        m = {"type": "send_result", "status": ("queued", "delivered")[status], "ref": r.int(8, True), "messageId": r.int(8, True), "to": r.text(1)}
        if flags & 1: m["devices"] = [r.text(1) for _ in range(r.int(1))]
    else: raise ValueError(f"unknown type byte {t:#04x}")
    return m

def compact_decode(rec):
    """A compact record -> ([(offset, message)], field boundaries); Malformed names where the bad message starts."""
    if not rec or not 0x01 <= rec[0] <= 0x04: raise ValueError("not a compact record")
    side = (1, 2) if rec[0] <= 2 else (3, 4)              # a client sends 0x01-0x02, the server 0x03-0x04
    r, out = Reader(rec), []
    while r.i < len(rec):                                 # back to back, filling the record exactly
        start = r.i
        try:
            if rec[start] not in side: raise ValueError(f"type byte {rec[start]:#04x} is not the sender's")
            if side == (1, 2) and len(out) == 256: raise ValueError("a client's record holds at most 256 messages")
            out.append((start, compact_message(r)))
        except ValueError as e: raise Malformed(start, out, e) from None
    return out, r.cuts

def compact_encode(m):
    """One JSON object -> its compact bytes; ValueError when it has no compact form."""
    def i64(v):
        if type(v) is not int: raise ValueError("not an integer")
        return v.to_bytes(8, "big", signed=True)      # OverflowError out of range: caught below
    def text(v, n, optional=False):
        if type(v) is not str: raise ValueError("not a string")
        b = v.encode("utf-8")
        if len(b) >= 1 << 8 * n or optional and not b: raise ValueError("no compact form")
        return len(b).to_bytes(n, "big") + b
    opt = lambda k: text(m[k], 1, True) if k in m else b"\0"
    def body(v):
        b = base64.b64decode(v, validate=True)
        if base64.b64encode(b).decode() != v: raise ValueError("non-canonical base64")
        return len(b).to_bytes(4, "big") + b
    try:
        t = m["type"]
        if t == "send": return b"\x01" + i64(m["ref"]) + text(m["to"], 1) + opt("toDevice") + text(m["contentType"], 2) + body(m["body"])
        if t == "ack":
            if not 1 <= len(m["messageIds"]) <= 4096: raise ValueError("no compact form")
            return b"\x02" + len(m["messageIds"]).to_bytes(2, "big") + b"".join(map(i64, m["messageIds"]))
        if t == "message":
            if type(m["broadcast"]) is not bool: raise ValueError("broadcast not a boolean")
            return (b"\x03" + bytes([m["broadcast"]]) + i64(m["messageId"]) + i64(m["timestamp"]) + text(m["from"], 1) + opt("fromDevice")
                    + text(m["to"], 1) + opt("toDevice") + text(m["contentType"], 2) + body(m["body"]))
        if t == "send_result":
            devs = m.get("devices")
            if devs is not None and len(devs) > 255: raise ValueError("no compact form")
            out = bytes([{"queued": 0, "delivered": 1}[m["status"]], devs is not None]) + i64(m["ref"]) + i64(m["messageId"]) + text(m["to"], 1)
            return b"\x04" + out + (bytes([len(devs)]) + b"".join(text(d, 1) for d in devs) if devs is not None else b"")
    except (KeyError, OverflowError) as e: raise ValueError(f"no compact form: {e!r}") from None
    raise ValueError(f"no compact form for {m.get('type')!r}")

def same(a, b):   # equal and of the same JSON types (False is not 0)
    if type(a) is not type(b): return False
    if isinstance(a, dict): return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list): return len(a) == len(b) and all(map(same, a, b))
    return a == b

def type_first(pairs):
    assert pairs[0][0] == "type" and len({k for k, _ in pairs}) == len(pairs), pairs   # §11: "type" first; no duplicates
    return dict(pairs)

def check_compact(title, lines, hexrec):
    objs = [json.loads(l, object_pairs_hook=type_first) for l in lines]
    parts = [bytes.fromhex(p) for p in hexrec.split("|")]; rec = b"".join(parts)
    msgs, cuts = compact_decode(rec)
    # '|' exactly where the decoder's messages end; every space exactly on a field (length or content) boundary
    assert [o for o, _ in msgs] + [len(rec)] == [0] + list(itertools.accumulate(map(len, parts))), title
    assert {0} | set(itertools.accumulate(len(bytes.fromhex(t)) for t in hexrec.replace("|", " ").split())) == cuts, title
    want = [dict(o, body=base64.b64decode(o["body"], validate=True)) if "body" in o else o for o in objs]
    assert same([m for _, m in msgs], want), (title, msgs, want)
    for o, w, part, line in zip(objs, want, parts, lines):
        enc = compact_encode(o); assert enc == part, (title, enc.hex(), part.hex())
        if o["type"] != "ack": assert len(enc) < len(line.encode())   # "always shorter than its JSON form" (not an ack)
        texts = sum(len(o.get(k, "").encode()) for k in ("to", "toDevice", "from", "fromDevice", "contentType"))
        fixed = {"send": 17, "message": 28, "send_result": 20}.get(o["type"])   # §11.9 Sizes
        devices = ("devices" in o) + sum(1 + len(d) for d in o.get("devices", []))
        if fixed: assert len(enc) == fixed + texts + len(w.get("body", b"")) + devices, (title, len(enc))
    assert b"".join(map(compact_encode, objs)) == rec
    print(f"OK  compact: {title}")
    return rec, [o for o, _ in msgs]

def check_compact_refusals(records):
    """Malformed records (§11.9): refused from the bad message's first byte, the messages before it kept."""
    n = 0
    def refused(rec, offset, good):
        nonlocal n
        try: compact_decode(rec)
        except Malformed as e: assert (e.offset, len(e.good)) == (offset, good), (rec.hex(), e.offset, e.good); n += 1; return
        raise AssertionError(f"accepted {rec.hex()}")
    for rec, starts in records.values():                  # a message cut anywhere inside it
        for cut in range(1, len(rec)):
            if cut not in starts:
                k = max(j for j, s in enumerate(starts) if s < cut); refused(rec[:cut], starts[k], k)
    send, _ = records["send"]; msg, _ = records["message"]; res, _ = records["send_result with devices"]
    three, starts = records["a record of three: two results and a message"]
    to = 1 + 8 + 1                                         # send: "bob" starts after type, ref and its length
    for bad in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82"):   # invalid, overlong, surrogate, cut sequence: same length
        refused(send[:to] + bad + send[to + len(bad):], 0, 0)
    ct = to + 3 + 1 + 2                                    # contentType's first byte
    refused(send[:ct] + b"\x80" + send[ct + 1:], 0, 0)
    refused(res[:-1] + b"\xff", 0, 0)                      # the last device id
    refused(three[:starts[2] + 1] + b"\x02" + three[starts[2] + 2:], starts[2], 2)   # message flag bit 1
    refused(msg[:1] + b"\x80" + msg[2:], 0, 0)
    refused(res[:2] + b"\x03" + res[3:], 0, 0)             # send_result flag bit 1
    refused(three[:starts[1] + 1] + b"\x02" + three[starts[1] + 2:], starts[1], 1)   # status 2
    refused(send + b"\x05" + send, len(send), 1)           # unknown type bytes after a good message
    refused(send + b"\x00", len(send), 1)
    refused(send + b"\x7b", len(send), 1)                  # JSON never follows compact in one record
    refused(send[:len(send) - 7 - 4] + b"\x00\x00\x00\x08" + send[-7:], 0, 0)   # body length one past the end
    refused(send + b"\x02\x00\x00", len(send), 1)        # an ack of no ids
    refused(send + msg, len(send), 1)                      # a server's message in a client's record
    refused(msg + send, len(msg), 1)                       # and a client's send in the server's
    one_ack = b"\x02\x00\x01" + b"\0" * 8
    refused(one_ack * 257, 256 * len(one_ack), 256)        # a client's 257th message
    refused(b"\x02\x10\x01" + b"\0" * 8 * 4097, 0, 0)    # an ack of 4,097 ids
    for bad in (b"", b"{}", b"\x00", b"\x05"):
        try: compact_decode(bad); raise AssertionError(bad)
        except Malformed: raise AssertionError(bad)
        except ValueError: n += 1                          # not a compact record at all
    base = {"type": "send_result", "ref": 1, "messageId": 2, "to": "bob", "status": "queued"}
    for o in (dict(base, to="b" * 256), dict(base, status="failed"), dict(base, devices=["d"] * 256), dict(base, ref=1 << 63),
              dict(base, type="broadcast"), {"type": "send", "ref": 1, "to": "bob", "contentType": "t", "body": "", "toDevice": ""},
              {"type": "ack", "messageIds": []}, {"type": "ack", "messageIds": [1] * 4097}):
        try: compact_encode(o); raise AssertionError(o)
        except ValueError: n += 1                          # no compact form: the sender uses JSON
    print(f"OK  compact: {n} malformed records and forms without a compact form refused")

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
records = {}
compact_section = text.split("<!-- BEGIN COMPACT VECTORS -->")[1].split("<!-- END COMPACT VECTORS -->")[0]
for title, block in re.findall(r"##### (.+?)\n\n```\n(.*?)```", compact_section, re.S):
    lines = [l.split(None, 1) for l in block.splitlines()]
    assert [k for k, _ in lines[:-1]] == ["json"] * (len(lines) - 1) and lines[-1][0] == "compact", title
    records[title] = check_compact(title, [v for _, v in lines[:-1]], lines[-1][1]); count += 1
assert len(records) >= 8, len(records)
check_compact_refusals(records)
print(f"{count} vectors reproduced independently")
