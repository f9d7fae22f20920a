// The browser's own cryptography (WebCrypto) for everything PROTOCOL.md needs except ML-KEM:
// SHA-256/512, HMAC and HKDF-SHA256 (RFC 5869, written out on HMAC so Extract and Expand can be
// used apart, as §6.2 and §13 do), AES-256-GCM, X25519 and Ed25519. Private keys are made
// non-extractable: they can be used and stored in IndexedDB, never read back as bytes.
import { concat, isAllZero, MalformedError } from './bytes.js';

const subtle = crypto.subtle;

export async function sha256(data) { return new Uint8Array(await subtle.digest('SHA-256', data)); }
export async function sha512(data) { return new Uint8Array(await subtle.digest('SHA-512', data)); }

export async function hmac(key, data) {
  const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, data));
}

export async function hkdfExtract(salt, ikm) { return hmac(salt, ikm); }

export async function hkdfExpand(prk, info, length) {
  const out = new Uint8Array(length);
  let t = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    t = await hmac(prk, concat(t, info, Uint8Array.of(i)));
    out.set(t.subarray(0, Math.min(t.length, length - offset)), offset);
    offset += t.length;
  }
  return out;
}

export async function hkdf(salt, ikm, info, length) { return hkdfExpand(await hkdfExtract(salt, ikm), info, length); }

export async function aesGcmSeal(key, nonce, plaintext, aad) {
  const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, k, plaintext));
}

/** Null when the tag does not verify: one uninformative outcome for forged, tampered or misdirected data. */
export async function aesGcmOpen(key, nonce, ciphertext, aad) {
  try {
    const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
    return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, k, ciphertext));
  } catch {
    return null;
  }
}

// ── X25519 ──

export async function x25519Generate() {
  return subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
}

export async function exportRaw(publicKey) { return new Uint8Array(await subtle.exportKey('raw', publicKey)); }

export async function x25519Public(bytes) {
  if (bytes.length !== 32) throw new MalformedError(`an X25519 key of ${bytes.length} bytes`, 'InvalidPublicKey');
  return subtle.importKey('raw', bytes, { name: 'X25519' }, true, []);
}

const X25519_PKCS8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);
const ED25519_PKCS8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);

/** A fixed private scalar, for test vectors only. */
export async function x25519PrivateFromBytes(scalar) {
  return subtle.importKey('pkcs8', concat(X25519_PKCS8, scalar), { name: 'X25519' }, false, ['deriveBits']);
}

/** The shared secret; an all-zero output (a low-order point, RFC 7748 §6.1) is refused. */
export async function x25519(privateKey, publicKey) {
  let out;
  try {
    out = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: publicKey }, privateKey, 256));
  } catch {
    throw new MalformedError('X25519 with this public key gives no secret', 'InvalidPublicKey');
  }
  if (isAllZero(out)) throw new MalformedError('X25519 gave the all-zero secret', 'InvalidPublicKey');
  return out;
}

// ── Ed25519 ──

export async function ed25519Generate() {
  return subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
}

export async function ed25519FromSeed(seed) {
  const privateKey = await subtle.importKey('pkcs8', concat(ED25519_PKCS8, seed), { name: 'Ed25519' }, true, ['sign']);
  // The public half from the private key's JWK (x); then the private key is re-imported non-extractable.
  const jwk = await subtle.exportKey('jwk', privateKey);
  const publicKey = await subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, true, ['verify']);
  const sealed = await subtle.importKey('pkcs8', concat(ED25519_PKCS8, seed), { name: 'Ed25519' }, false, ['sign']);
  return { privateKey: sealed, publicKey };
}

export async function x25519FromScalar(scalar) {
  const privateKey = await subtle.importKey('pkcs8', concat(X25519_PKCS8, scalar), { name: 'X25519' }, true, ['deriveBits']);
  const jwk = await subtle.exportKey('jwk', privateKey);
  const publicKey = await subtle.importKey('jwk', { kty: 'OKP', crv: 'X25519', x: jwk.x }, { name: 'X25519' }, true, []);
  return { privateKey: await x25519PrivateFromBytes(scalar), publicKey };
}

export async function ed25519Sign(privateKey, data) { return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, privateKey, data)); }

/** False on any failure: a key of the wrong size, a non-canonical signature, a forgery. */
export async function ed25519Verify(publicKeyBytes, signature, data) {
  if (publicKeyBytes.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await subtle.importKey('raw', publicKeyBytes, { name: 'Ed25519' }, false, ['verify']);
    return await subtle.verify({ name: 'Ed25519' }, key, signature, data);
  } catch {
    return false;
  }
}

/** ECDSA P-256 with SHA-256, IEEE P1363 r||s (the other server identity algorithm of §2.3). */
export async function ecdsaP256Verify(publicKeyBytes, signature, data) {
  if (publicKeyBytes.length !== 65 || publicKeyBytes[0] !== 4 || signature.length !== 64) return false;
  try {
    const key = await subtle.importKey('raw', publicKeyBytes, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data);
  } catch {
    return false;
  }
}

// ── At rest ──

export async function aesKeyGenerate() {
  return subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

export async function sealWithKey(key, plaintext, aad) {
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad }, key, plaintext));
  return concat(nonce, ct);
}

export async function openWithKey(key, sealed, aad) {
  const plain = await subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(0, 12), additionalData: aad }, key, sealed.subarray(12));
  return new Uint8Array(plain);
}
