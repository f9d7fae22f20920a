// End-to-end keys (PROTOCOL.md §13.2, §13.3, §13.10): a device identity (Ed25519 signs, X25519
// agrees, bound by a signature), signed, one-time and ML-KEM prekeys, and the key directory's
// blob formats. Every blob is length-checked on the way in and every signature verified before
// a key is used (fail closed).
import { concat, u8, u32, utf8, equal, Reader, MalformedError, readU32, randomBytes } from '../bytes.js';
import { ed25519Generate, ed25519Sign, ed25519Verify, x25519Generate, exportRaw } from '../crypto.js';
import { ml_kem768 } from '../../vendor/ml-kem768.js';

export const KEM_PUBLIC = 1184;
export const KEM_CIPHERTEXT = 1088;
export const KIND_ONE_TIME = 1;
export const KIND_LAST_RESORT = 2;
const BINDING = utf8('Parley_E2E_IdentityBinding_v1');
const SPK_LABEL = utf8('Parley_E2E_SignedPrekey_v1');
const KEM_LABEL = utf8('Parley_E2E_KemPrekey_v1');

export class E2eError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

/** A new identity: both private keys non-extractable. */
export async function generateIdentity() {
  const signing = await ed25519Generate();
  const agreement = await x25519Generate();
  return identityFrom(signing, agreement);
}

export async function identityFrom(signing, agreement) {
  const ed = await exportRaw(signing.publicKey);
  const x = await exportRaw(agreement.publicKey);
  const binding = await ed25519Sign(signing.privateKey, concat(BINDING, x));
  return { signing: signing.privateKey, agreement: agreement.privateKey, publicKey: concat(ed, x, binding) };
}

/** Ed25519 || X25519 of a 128-byte IdentityPublicKey whose binding verifies. */
export async function decodeIdentity(bytes) {
  if (bytes.length !== 128) throw new E2eError('MalformedData', `an identity key of ${bytes.length} bytes`);
  const ed = bytes.slice(0, 32), x = bytes.slice(32, 64), sig = bytes.slice(64);
  if (!(await ed25519Verify(ed, sig, concat(BINDING, x)))) throw new E2eError('InvalidSignature', 'the identity binding does not verify');
  return { ed, x, bytes: bytes.slice() };
}

/** 0x01 || Ed25519 || X25519: the identity in associated data. */
export function encodeIdentity(identityPublic) { return concat(u8(1), identityPublic.subarray(0, 64)); }

export async function generateSignedPrekey(identity, id) {
  const pair = await x25519Generate();
  const pub = await exportRaw(pair.publicKey);
  const signature = await ed25519Sign(identity.signing, concat(SPK_LABEL, u32(id), pub));
  return { id, privateKey: pair.privateKey, publicKey: pub, signature };
}

export async function generateOneTimePrekey(id) {
  const pair = await x25519Generate();
  return { id, privateKey: pair.privateKey, publicKey: await exportRaw(pair.publicKey) };
}

/** An ML-KEM-768 prekey; the private key is kept as its 64-byte seed (d || z, §13.1). */
export async function generateKemPrekey(identity, id, kind) {
  const seed = randomBytes(64);
  const { publicKey } = ml_kem768.keygen(seed);
  const signature = await ed25519Sign(identity.signing, concat(KEM_LABEL, u8(kind), u32(id), publicKey));
  return { id, kind, seed, publicKey, signature };
}

export function kemDecapsulate(seed, ciphertext) {
  const { secretKey } = ml_kem768.keygen(seed);
  return ml_kem768.decapsulate(ciphertext, secretKey);
}

export function kemEncapsulate(publicKey, message) {
  checkKemKey(publicKey);
  const { cipherText, sharedSecret } = message ? ml_kem768.encapsulate(publicKey, message) : ml_kem768.encapsulate(publicKey);
  return { ciphertext: cipherText, secret: sharedSecret };
}

/** FIPS 203 §7.2: 1184 bytes, and every 12-bit coefficient of the first 1152 below q = 3329. */
export function checkKemKey(key) {
  if (key.length !== KEM_PUBLIC) throw new E2eError('InvalidKemKey', `an ML-KEM key of ${key.length} bytes`);
  for (let i = 0; i < 1152; i += 3) {
    const a = key[i] | ((key[i + 1] & 0x0f) << 8);
    const b = (key[i + 1] >> 4) | (key[i + 2] << 4);
    if (a >= 3329 || b >= 3329) throw new E2eError('InvalidKemKey', 'an ML-KEM key with a coefficient not below q');
  }
}

// ── Key directory blobs (§13.10) ──

export const blobs = {
  signedPrekey: k => concat(u32(k.id), k.publicKey, k.signature),
  oneTimePrekey: k => concat(u32(k.id), k.publicKey),
  kemPrekey: k => concat(u32(k.id), u8(k.kind), k.publicKey, k.signature),
};

function exactly(blob, length, what) {
  if (blob.length !== length) throw new E2eError('MalformedData', `${what}: ${blob.length} bytes, expected ${length}`);
  return blob;
}

/** A directory entry as a bundle whose identity binding and both prekey signatures verify. */
export async function bundleFromDirectory(entry) {
  const identity = await decodeIdentity(entry.identityKey);
  const spk = exactly(entry.signedPrekey, 100, 'signed prekey');
  const signed = { id: readU32(spk), publicKey: spk.slice(4, 36), signature: spk.slice(36) };
  let oneTime = null;
  if (entry.oneTimePrekey) {
    const opk = exactly(entry.oneTimePrekey, 36, 'one-time prekey');
    oneTime = { id: readU32(opk), publicKey: opk.slice(4) };
  }
  const kem = exactly(entry.kemPrekey, 4 + 1 + KEM_PUBLIC + 64, 'KEM prekey');
  const kind = kem[4];
  if (kind !== KIND_ONE_TIME && kind !== KIND_LAST_RESORT) throw new E2eError('MalformedData', `KEM prekey: unknown kind ${kind}`);
  const kemKey = { id: readU32(kem), kind, publicKey: kem.slice(5, 5 + KEM_PUBLIC), signature: kem.slice(5 + KEM_PUBLIC) };
  if (!(await ed25519Verify(identity.ed, signed.signature, concat(SPK_LABEL, u32(signed.id), signed.publicKey)))) {
    throw new E2eError('InvalidSignature', 'the signed prekey signature does not verify');
  }
  if (!(await ed25519Verify(identity.ed, kemKey.signature, concat(KEM_LABEL, u8(kind), u32(kemKey.id), kemKey.publicKey)))) {
    throw new E2eError('InvalidSignature', 'the KEM prekey signature does not verify');
  }
  checkKemKey(kemKey.publicKey);
  return { identity, signed, oneTime, kem: kemKey };
}

export { equal, Reader, MalformedError };
