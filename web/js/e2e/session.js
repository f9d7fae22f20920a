// PQXDH (PROTOCOL.md §13.4) and the Double Ratchet (§13.5) with the envelopes of §13.6: one
// session per peer device. A session is a plain object (CryptoKeys for the ratchet's private
// keys, bytes for the rest) so it can be stored in IndexedDB as it is. Decryption works on a
// copy and the caller keeps the copy only when the tag verified: a forged, replayed or
// misdirected message leaves the session exactly as it was.
import { concat, u8, u16, u32, utf8, equal, hex, Reader } from '../bytes.js';
import { hkdf, hkdfExpand, hmac, aesGcmSeal, aesGcmOpen, x25519, x25519Generate, x25519Public, exportRaw } from '../crypto.js';
import { E2eError, decodeIdentity, encodeIdentity, kemEncapsulate, kemDecapsulate, KEM_CIPHERTEXT } from './keys.js';

export const MAX_SKIP = 1000;
export const MAX_SKIPPED_KEYS = 2000;
export const FINISHED_CHAINS_KEPT = 8;
export const MAX_PLAINTEXT = 256 * 1024;
const ZERO32 = new Uint8Array(32);
const FF32 = new Uint8Array(32).fill(0xff);
const PQXDH_INFO = utf8('Parley_PQXDH_CURVE25519_SHA-256_ML-KEM-768');
const ROOT_INFO = utf8('Parley_E2E_InitialRootKey_v1');
const RATCHET_INFO = utf8('Parley_E2E_Ratchet_v1');
const MESSAGE_INFO = utf8('Parley_E2E_MessageKeys_v1');

export async function kdfRk(rk, dhOut) {
  const out = await hkdf(rk, dhOut, RATCHET_INFO, 64);
  return [out.slice(0, 32), out.slice(32)];
}

export async function kdfCk(ck) { return [await hmac(ck, Uint8Array.of(1)), await hmac(ck, Uint8Array.of(2))]; }

export async function messageKeys(mk) {
  const out = await hkdf(ZERO32, mk, MESSAGE_INFO, 44);
  return { key: out.slice(0, 32), nonce: out.slice(32) };
}

export async function sealMessage(mk, plaintext, ad) {
  const { key, nonce } = await messageKeys(mk);
  return aesGcmSeal(key, nonce, plaintext, ad);
}

export function ratchetHeader(dh, pn, n) { return concat(dh, u32(pn), u32(n)); }

export async function pqxdhSecret(dhs, ss) { return hkdf(ZERO32, concat(FF32, ...dhs, ss), PQXDH_INFO, 32); }

/**
 * The initiator's side with a verified bundle (keys.bundleFromDirectory). `fixed` pins the
 * ephemeral key, the KEM message and the first ratchet key for test vectors only.
 */
export async function initiate(identity, bundle, fixed = {}) {
  const ek = fixed.ephemeral ?? await x25519Generate();
  const ekPublic = await exportRaw(ek.publicKey);
  const spk = await x25519Public(bundle.signed.publicKey);
  const dhs = [
    await x25519(identity.agreement, spk),
    await x25519(ek.privateKey, await x25519Public(bundle.identity.x)),
    await x25519(ek.privateKey, spk),
  ];
  if (bundle.oneTime) dhs.push(await x25519(ek.privateKey, await x25519Public(bundle.oneTime.publicKey)));
  const { ciphertext, secret } = kemEncapsulate(bundle.kem.publicKey, fixed.kemMessage);
  const sk = await pqxdhSecret(dhs, secret);
  const ad = concat(encodeIdentity(identity.publicKey), encodeIdentity(bundle.identity.bytes));
  const initialHeader = concat(u8(1), identity.publicKey, ekPublic, u32(bundle.signed.id),
    bundle.oneTime ? concat(u8(1), u32(bundle.oneTime.id)) : u8(0), u32(bundle.kem.id), u16(ciphertext.length), ciphertext);
  const rk0 = await hkdfExpand(sk, ROOT_INFO, 32);
  const ratchet = fixed.ratchet ?? await x25519Generate();
  const [rk, cks] = await kdfRk(rk0, await x25519(ratchet.privateKey, spk));
  return {
    version: 1, role: 'initiator', established: false, ad, theirIdentity: bundle.identity.bytes, initialHeader, sk,
    dhs: { privateKey: ratchet.privateKey, publicKey: await exportRaw(ratchet.publicKey) }, dhr: bundle.signed.publicKey.slice(),
    rk, cks, ckr: null, ns: 0, nr: 0, pn: 0, skipped: [], finished: [],
  };
}

export function parseEnvelope(envelope) {
  const r = new Reader(envelope, 'envelope');
  const version = r.u8();
  if (version !== 1) throw new E2eError('UnsupportedVersion', `envelope version ${version}`);
  const type = r.u8();
  if (type === 1) {
    const headerBytes = r.opaque16();
    return { type, initial: parseInitialHeader(headerBytes), message: parseRatchetMessage(r.take(r.remaining)) };
  }
  if (type === 2) return { type, message: parseRatchetMessage(r.take(r.remaining)) };
  throw new E2eError('MalformedData', `envelope type ${type}`);
}

function parseRatchetMessage(bytes) {
  if (bytes.length < 40 + 16) throw new E2eError('MalformedData', 'a ratchet message shorter than its header and tag');
  const header = bytes.slice(0, 40);
  const view = new DataView(header.buffer);
  return { header, dh: header.slice(0, 32), pn: view.getUint32(32), n: view.getUint32(36), ciphertext: bytes.slice(40) };
}

export function parseInitialHeader(bytes) {
  try {
    const r = new Reader(bytes, 'initial header');
    const version = r.u8();
    if (version !== 1) throw new E2eError('UnsupportedVersion', `initial header version ${version}`);
    const identity = r.take(128).slice();
    const ek = r.take(32).slice();
    const spkId = r.u32();
    const hasOpk = r.u8();
    if (hasOpk > 1) throw new E2eError('MalformedData', 'a one-time prekey flag other than 0 or 1');
    const opkId = hasOpk ? r.u32() : null;
    const kemId = r.u32();
    const ctLength = r.u16();
    if (ctLength !== KEM_CIPHERTEXT) throw new E2eError('MalformedData', `an ML-KEM ciphertext of ${ctLength} bytes`);
    const ciphertext = r.take(ctLength).slice();
    r.end();
    return { identity, ek, spkId, opkId, kemId, ciphertext };
  } catch (e) {
    if (e instanceof E2eError) throw e;
    throw new E2eError('MalformedData', e.message);
  }
}

/**
 * The responder's side of a prekey envelope. `keys` holds this device's identity and the private
 * prekeys the header names ({signed, oneTime, kem}); the caller checked that the ids match.
 * Returns the new session and the plaintext, or throws without changing anything.
 */
export async function accept(identity, keys, envelope) {
  const parsed = parseEnvelope(envelope);
  if (parsed.type !== 1) throw new E2eError('UnexpectedMessage', 'not a prekey message');
  const h = parsed.initial;
  const theirs = await decodeIdentity(h.identity);
  const ek = await x25519Public(h.ek);
  const dhs = [
    await x25519(keys.signed.privateKey, await x25519Public(theirs.x)),
    await x25519(identity.agreement, ek),
    await x25519(keys.signed.privateKey, ek),
  ];
  if (keys.oneTime) dhs.push(await x25519(keys.oneTime.privateKey, ek));
  let ss;
  try {
    ss = kemDecapsulate(keys.kem.seed, h.ciphertext);
  } catch {
    throw new E2eError('DecryptionFailed', 'the ML-KEM ciphertext does not decapsulate');
  }
  const sk = await pqxdhSecret(dhs, ss);
  const session = {
    version: 1, role: 'responder', established: true, ad: concat(encodeIdentity(h.identity), encodeIdentity(identity.publicKey)),
    theirIdentity: theirs.bytes, ek: h.ek, sk,
    dhs: { privateKey: keys.signed.privateKey, publicKey: keys.signed.publicKey.slice() }, dhr: null,
    rk: await hkdfExpand(sk, ROOT_INFO, 32), cks: null, ckr: null, ns: 0, nr: 0, pn: 0, skipped: [], finished: [],
  };
  const { session: next, plaintext } = await decryptRatchet(session, parsed.message);
  return { session: next, plaintext, consumed: { oneTimeId: h.opkId, kemId: h.kemId } };
}

export async function encrypt(session, plaintext) {
  if (plaintext.length > MAX_PLAINTEXT) throw new E2eError('MalformedData', 'a plaintext above 256 KiB');
  if (session.ns >= 0xffffffff) throw new E2eError('CounterExhausted', 'the sending chain is used up');
  const [mk, next] = await kdfCk(session.cks);
  const header = ratchetHeader(session.dhs.publicKey, session.pn, session.ns);
  const ciphertext = await sealMessage(mk, plaintext, concat(session.ad, header));
  session.cks = next;
  session.ns += 1;
  const message = concat(header, ciphertext);
  return session.role === 'initiator' && !session.established
    ? concat(u8(1), u8(1), u16(session.initialHeader.length), session.initialHeader, message)
    : concat(u8(1), u8(2), message);
}

/** Decrypts an envelope in this session; returns the new session (a copy) and the plaintext. */
export async function decrypt(session, envelope) {
  const parsed = parseEnvelope(envelope);
  if (parsed.type === 1) {
    if (session.role === 'initiator') throw new E2eError('UnexpectedMessage', 'a prekey message to the session that started');
    if (!equal(parsed.initial.ek, session.ek)) throw new E2eError('SessionMismatch', 'a prekey message of another session');
  }
  const result = await decryptRatchet(session, parsed.message);
  result.session.established = true;
  return result;
}

function copy(s) { return { ...s, skipped: s.skipped.map(e => [...e]), finished: [...s.finished] }; }

async function skipTo(s, until) {
  if (!s.ckr) return;
  if (until - s.nr > MAX_SKIP) throw new E2eError('TooManySkippedMessages', `${until - s.nr} skipped messages in one chain`);
  while (s.nr < until) {
    const [mk, next] = await kdfCk(s.ckr);
    s.skipped.push([`${hex(s.dhr)}:${s.nr}`, mk]);
    if (s.skipped.length > MAX_SKIPPED_KEYS) s.skipped.shift();
    s.ckr = next;
    s.nr += 1;
  }
}

async function decryptRatchet(session, m) {
  const s = copy(session);
  const ad = concat(s.ad, m.header);
  const id = `${hex(m.dh)}:${m.n}`;
  const at = s.skipped.findIndex(e => e[0] === id);
  let mk;
  if (at >= 0) {
    mk = s.skipped[at][1];
    s.skipped.splice(at, 1);
  } else {
    const current = s.dhr && equal(m.dh, s.dhr);
    if (!current && s.finished.includes(hex(m.dh))) throw new E2eError('DuplicateMessage', 'a message of a finished chain whose key is gone');
    if (current && m.n < s.nr) throw new E2eError('DuplicateMessage', 'a message already read');
    if (!current) {
      if (s.ckr && m.pn - s.nr > MAX_SKIP) throw new E2eError('TooManySkippedMessages', `${m.pn - s.nr} skipped messages in one chain`);
      if (!s.ckr && m.n > MAX_SKIP) throw new E2eError('TooManySkippedMessages', `${m.n} skipped messages in one chain`);
      await skipTo(s, m.pn);
      if (s.dhr) {
        s.finished.push(hex(s.dhr));
        if (s.finished.length > FINISHED_CHAINS_KEPT) s.finished.shift();
      }
      const theirs = await x25519Public(m.dh);
      s.pn = s.ns; s.ns = 0; s.nr = 0; s.dhr = m.dh;
      [s.rk, s.ckr] = await kdfRk(s.rk, await x25519(s.dhs.privateKey, theirs));
      const pair = await x25519Generate();
      s.dhs = { privateKey: pair.privateKey, publicKey: await exportRaw(pair.publicKey) };
      [s.rk, s.cks] = await kdfRk(s.rk, await x25519(s.dhs.privateKey, theirs));
    }
    await skipTo(s, m.n);
    if (s.nr >= 0xffffffff) throw new E2eError('CounterExhausted', 'the receiving chain is used up');
    const [key, next] = await kdfCk(s.ckr);
    mk = key; s.ckr = next; s.nr += 1;
  }
  const { key, nonce } = await messageKeys(mk);
  const plaintext = await aesGcmOpen(key, nonce, m.ciphertext, ad);
  if (plaintext === null) throw new E2eError('DecryptionFailed', 'the message did not decrypt');
  return { session: s, plaintext };
}

export { kemDecapsulate };
