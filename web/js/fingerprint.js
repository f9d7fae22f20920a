// A key's fingerprint exactly as the CLI prints it (PROTOCOL.md §2.3):
// "SHA256:" + unpadded base64 of SHA-256(algorithm name || 0x00 || public key).
import { concat, toBase64, utf8 } from './bytes.js';
import { sha256 } from './crypto.js';

export async function fingerprint(algorithm, publicKey) {
  const digest = await sha256(concat(utf8(algorithm), Uint8Array.of(0), publicKey));
  return 'SHA256:' + toBase64(digest).replace(/=+$/, '');
}
