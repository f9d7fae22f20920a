// Safety numbers (PROTOCOL.md §13.7): Signal's numeric fingerprint, version 0, 5200 iterations of
// SHA-512, over 0xED || Ed25519 identity key with the canonical username as stable id.
import { concat, utf8 } from '../bytes.js';
import { sha512 } from '../crypto.js';

async function half(key, stableId) {
  let h = concat(Uint8Array.of(0, 0), key, utf8(stableId));
  for (let i = 0; i < 5200; i++) h = await sha512(concat(h, key));
  let digits = '';
  for (let i = 0; i < 30; i += 5) {
    const chunk = h.subarray(i, i + 5).reduce((acc, b) => acc * 256 + b, 0);
    digits += String(chunk % 100000).padStart(5, '0');
  }
  return digits;
}

/** The same 60 digits on both sides: the two halves, smaller first. */
export async function safetyNumber(ourIdentity, ourUser, theirIdentity, theirUser) {
  const ours = await half(concat(Uint8Array.of(0xed), ourIdentity.subarray(0, 32)), ourUser);
  const theirs = await half(concat(Uint8Array.of(0xed), theirIdentity.subarray(0, 32)), theirUser);
  return [ours, theirs].sort().join('');
}

export function formatSafetyNumber(digits) { return digits.match(/.{5}/g).join(' '); }
