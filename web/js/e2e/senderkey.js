// Signal's sender keys as PROTOCOL.md §14.2–§14.4 define them, for the browser, as
// Parley.EndToEnd's OwnSenderKey and ReceivedSenderKey do it: a chain per sending device and
// group, a message key per iteration, every message signed with the key's own Ed25519 key.
// Keys are plain objects (a CryptoKey for the signing half, bytes for the rest) so the device
// state can store them as they are. Decryption checks the signature before deriving anything and
// returns a new state only when the tag verified: a forged, replayed or misdirected message
// leaves the key exactly as it was.
import { concat, u8, u32, readU32, utf8, equal, randomBytes } from '../bytes.js';
import { hkdf, hmac, aesGcmSeal, aesGcmOpen, ed25519Generate, ed25519Sign, ed25519Verify, exportRaw } from '../crypto.js';
import { E2eError } from './keys.js';

export const VERSION = 1;
export const GROUP_ID_LENGTH = 16;
export const HEADER_LENGTH = 1 + GROUP_ID_LENGTH + 4 + 4;
export const DISTRIBUTION_LENGTH = HEADER_LENGTH + 32 + 32;
const TAG_LENGTH = 16;
const SIGNATURE_LENGTH = 64;
/** The most keys one message may make a receiver derive ahead (§14.4). */
export const MAX_SKIP = 1000;
/** Skipped keys kept per received sender key; past it the oldest goes (its message then reads as a duplicate). */
export const MAX_SKIPPED_KEYS = 2000;
export const MAX_PLAINTEXT = 256 * 1024;
const LAST_ITERATION = 0xffffffff;
const ZERO32 = new Uint8Array(32);
const MESSAGE_INFO = utf8('Parley_Group_MessageKeys_v1');

/** [message key, next chain key] (§13.5's KDF_CK). */
export async function chainStep(ck) { return [await hmac(ck, Uint8Array.of(1)), await hmac(ck, Uint8Array.of(2))]; }

/** The AES-256-GCM key and nonce of a message key, under the group's own label. */
export async function messageKeys(mk) {
  const out = await hkdf(ZERO32, mk, MESSAGE_INFO, 44);
  return { key: out.slice(0, 32), nonce: out.slice(32) };
}

/**
 * A new sender key for the group `groupId` (16 bytes). `fixed` ({keyId, chainKey, signing}) is
 * for test vectors only; otherwise everything is fresh and the signing key is non-extractable.
 */
export async function generate(groupId, fixed = {}) {
  if (groupId.length !== GROUP_ID_LENGTH) throw new E2eError('MalformedData', 'a group id is 16 bytes');
  const signing = fixed.signing ?? await ed25519Generate();
  return {
    groupId: groupId.slice(),
    keyId: fixed.keyId ?? readU32(randomBytes(4)),
    iteration: 0,
    chainKey: (fixed.chainKey ?? randomBytes(32)).slice(),
    signingKey: signing.privateKey,
    signingPublic: await exportRaw(signing.publicKey),
  };
}

/** The 89-byte distribution of an own key at its current iteration: what a member needs to read what follows. */
export function distribution(own) {
  return concat(u8(VERSION), own.groupId, u32(own.keyId), u32(own.iteration), own.chainKey, own.signingPublic);
}

/**
 * A received sender key from a distribution; throws for anything but the exact layout. The
 * Ed25519 key is checked where it is used: WebCrypto's verify refuses a key that is no valid
 * point, so a bad one only makes its sender's messages fail (InvalidSignature), never opens one.
 */
export function fromDistribution(bytes) {
  if (bytes.length !== DISTRIBUTION_LENGTH) throw new E2eError('MalformedData', `a sender key distribution is ${DISTRIBUTION_LENGTH} bytes, not ${bytes.length}`);
  if (bytes[0] !== VERSION) throw new E2eError('UnknownVersion', `sender key distribution version ${bytes[0]}`);
  return {
    groupId: bytes.slice(1, 17),
    keyId: readU32(bytes, 17),
    iteration: readU32(bytes, 21),
    chainKey: bytes.slice(25, 57),
    signingPublic: bytes.slice(57, 89),
    skipped: [],
  };
}

function header(groupId, keyId, iteration) { return concat(u8(VERSION), groupId, u32(keyId), u32(iteration)); }

/** The parts of a group message (§14.4); says nothing about authenticity. */
export function parseMessage(bytes) {
  if (bytes.length < HEADER_LENGTH + TAG_LENGTH + SIGNATURE_LENGTH) throw new E2eError('MalformedData', 'the group message is too short');
  if (bytes[0] !== VERSION) throw new E2eError('UnknownVersion', `group message version ${bytes[0]}`);
  const signedLength = bytes.length - SIGNATURE_LENGTH;
  return {
    groupId: bytes.slice(1, 17),
    keyId: readU32(bytes, 17),
    iteration: readU32(bytes, 21),
    header: bytes.subarray(0, HEADER_LENGTH),
    sealed: bytes.subarray(HEADER_LENGTH, signedLength),
    signed: bytes.subarray(0, signedLength),
    signature: bytes.subarray(signedLength),
  };
}

/** {own: the key one step on, message}: the next iteration's key encrypts, the key's Ed25519 key signs. */
export async function encrypt(own, plaintext) {
  if (plaintext.length > MAX_PLAINTEXT) throw new E2eError('MessageTooLarge', `a group message holds at most ${MAX_PLAINTEXT} bytes`);
  if (own.iteration >= LAST_ITERATION) throw new E2eError('CounterExhausted', 'this sender key is used up; a new one is made');
  const [mk, next] = await chainStep(own.chainKey);
  const { key, nonce } = await messageKeys(mk);
  const h = header(own.groupId, own.keyId, own.iteration);
  const body = concat(h, await aesGcmSeal(key, nonce, plaintext, h));
  const message = concat(body, await ed25519Sign(own.signingKey, body));
  mk.fill(0); key.fill(0);
  own.chainKey.fill(0);
  return { own: { ...own, chainKey: next, iteration: own.iteration + 1 }, message };
}

/**
 * {key: the received key after this message, plaintext}. In §14.4's order: the signature, the
 * distance ahead, the keys up to the message's iteration (those skipped kept), and the tag; any
 * failure throws its E2eError and the caller keeps the key it had.
 */
export async function decrypt(received, bytes) {
  const m = parseMessage(bytes);
  if (m.keyId !== received.keyId || !equal(m.groupId, received.groupId)) {
    throw new E2eError('SessionMismatch', 'the group message is for another group or sender key');
  }
  if (!await ed25519Verify(received.signingPublic, m.signature, m.signed)) {
    throw new E2eError('InvalidSignature', "the group message is not signed by its sender's key");
  }
  if (m.iteration < received.iteration) {
    const index = received.skipped.findIndex(s => s.iteration === m.iteration);
    if (index < 0) throw new E2eError('DuplicateMessage', 'this group message was already read (or is older than the key)');
    const plaintext = await open(received.skipped[index].key, m);
    if (plaintext === null) throw new E2eError('DecryptionFailed', 'the group message did not decrypt');
    received.skipped[index].key.fill(0);
    return { key: { ...received, skipped: received.skipped.filter((_, i) => i !== index) }, plaintext };
  }
  if (m.iteration - received.iteration > MAX_SKIP) {
    throw new E2eError('TooManySkippedMessages', `the group message is ${m.iteration - received.iteration} messages ahead; at most ${MAX_SKIP} are derived`);
  }
  let chain = received.chainKey;
  const derived = [];
  let mk;
  for (let i = received.iteration; ; i++) {
    let next;
    [mk, next] = await chainStep(chain);
    if (chain !== received.chainKey) chain.fill(0);
    chain = next;
    if (i === m.iteration) break;
    derived.push({ iteration: i, key: mk });
  }
  const plaintext = await open(mk, m);
  mk.fill(0);
  if (plaintext === null) {
    for (const d of derived) d.key.fill(0);
    throw new E2eError('DecryptionFailed', 'the group message did not decrypt');
  }
  const skipped = [...received.skipped, ...derived];
  const dropped = skipped.splice(0, Math.max(0, skipped.length - MAX_SKIPPED_KEYS));
  for (const d of dropped) d.key.fill(0);
  received.chainKey.fill(0);
  return { key: { ...received, chainKey: chain, iteration: m.iteration + 1, skipped }, plaintext };
}

async function open(mk, m) {
  const { key, nonce } = await messageKeys(mk);
  const plaintext = await aesGcmOpen(key, nonce, m.sealed, m.header);
  key.fill(0);
  return plaintext;
}
