// Files end to end (PROTOCOL.md §15), as Parley.EndToEnd's FileOffer, FileLayout and
// FileChunkCipher have them: the offer that travels inside an end-to-end message (kind 7), the
// chunk layout, and each chunk's AES-256-GCM under the file's own key, its index in the nonce and
// in the additional data with the file id and whether it is the last. No I/O here: the transfer
// (file-transfer.js) feeds chunks in and takes chunks out.
import { concat, u8, u16, u32, u64, utf8, fromUtf8, hex, fromHex, equal } from '../bytes.js';
import { aesGcmSeal, aesGcmOpen } from '../crypto.js';
import { E2eError } from './keys.js';

export const OFFER_VERSION = 1;
export const KEY_LENGTH = 32;
export const HASH_LENGTH = 32;
export const FILE_ID_LENGTH = 16;
export const TAG_LENGTH = 16;
export const MIN_CHUNK = 1024;
export const MAX_CHUNK = 64 * 1024 - TAG_LENGTH;
/** What parley chat uses too: 49,168 bytes of ciphertext, whose base64 keeps a chunk under the default record limit (§11.8). */
export const DEFAULT_CHUNK = 48 * 1024;
export const MAX_SIZE = 2 ** 48;
const MAX_NAME_BYTES = 255;
const MAX_TYPE_LENGTH = 128;
const AD_LABEL = utf8('Parley_File_v1');

/** The chunks of a file of `size` plaintext bytes cut every `chunkSize`: an empty file is one empty chunk. */
export function layout(size, chunkSize) {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE) throw new E2eError('MalformedData', `a file is 0 to ${MAX_SIZE} bytes`);
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) {
    throw new E2eError('MalformedData', `a chunk is ${MIN_CHUNK} to ${MAX_CHUNK} bytes`);
  }
  const count = Math.max(1, Math.ceil(size / chunkSize));
  return {
    size, chunkSize, count,
    /** Ciphertext bytes in all: what `file_upload_begin` declares. */
    ciphertextSize: size + TAG_LENGTH * count,
    plaintextLength: i => (i < count - 1 ? chunkSize : size - (count - 1) * chunkSize),
  };
}

function checkIndex(index) {
  if (!Number.isSafeInteger(index) || index < 0) throw new E2eError('MalformedData', 'a chunk index is a whole number from 0');
}

export function chunkNonce(index) { checkIndex(index); return concat(new Uint8Array(4), u64(index)); }

export function chunkAd(fileId, index, last) {
  checkIndex(index);
  if (fileId.length !== FILE_ID_LENGTH) throw new Error('a file id is 16 bytes');
  return concat(AD_LABEL, fileId, u64(index), u8(last ? 1 : 0));
}

/** Chunk `index` of the layout, sealed; the nonce is the index, so the caller never seals two plaintexts at one index. */
export async function sealChunk(key, fileId, fileLayout, index, plaintext) {
  checkIndex(index);
  if (index >= fileLayout.count) throw new Error(`chunk ${index} is past the file's ${fileLayout.count}`);
  if (plaintext.length !== fileLayout.plaintextLength(index)) throw new Error(`chunk ${index} must be ${fileLayout.plaintextLength(index)} bytes`);
  return aesGcmSeal(key, chunkNonce(index), plaintext, chunkAd(fileId, index, index === fileLayout.count - 1));
}

/** Chunk `index` opened, or DecryptionFailed for one of the wrong length, altered, moved, from another file or cut short. */
export async function openChunk(key, fileId, fileLayout, index, ciphertext) {
  if (!Number.isSafeInteger(index) || index < 0 || index >= fileLayout.count || ciphertext.length !== fileLayout.plaintextLength(index) + TAG_LENGTH) {
    throw new E2eError('DecryptionFailed', `chunk ${index} does not have the length the offer gives it`);
  }
  const plain = await aesGcmOpen(key, chunkNonce(index), ciphertext, chunkAd(fileId, index, index === fileLayout.count - 1));
  if (plain === null) throw new E2eError('DecryptionFailed', `chunk ${index} did not authenticate (altered, moved or from another file)`);
  return plain;
}

/** The offer's bytes (§15.2, version 1). `fileId` is the server's 32 hex digits. */
export function encodeOffer({ fileId, size, chunkSize, key, sha256, name, contentType = '' }) {
  layout(size, chunkSize);
  const id = fromHex(fileId);
  const nameBytes = utf8(name);
  if (id.length !== FILE_ID_LENGTH || key.length !== KEY_LENGTH || sha256.length !== HASH_LENGTH) throw new Error('an offer holds a 16-byte id, a 32-byte key and a 32-byte hash');
  if (nameBytes.length < 1 || nameBytes.length > MAX_NAME_BYTES) throw new Error(`a file name is 1 to ${MAX_NAME_BYTES} bytes of UTF-8`);
  if (!isContentType(contentType)) throw new Error(`a content type is 0 to ${MAX_TYPE_LENGTH} printable ASCII characters`);
  return concat(u8(OFFER_VERSION), id, u64(size), u32(chunkSize), key, sha256, u16(nameBytes.length), nameBytes,
    u8(contentType.length), utf8(contentType));
}

/** {fileId (hex), size, chunkSize, key, sha256, name, contentType} or an E2eError: every length checked, nothing left over. */
export function decodeOffer(bytes) {
  const bad = reason => new E2eError('MalformedData', `file offer: ${reason}`);
  let at = 0;
  const take = (n, what) => {
    if (bytes.length - at < n) throw bad(`too short for its ${what}`);
    const part = bytes.subarray(at, at + n);
    at += n;
    return part;
  };
  const version = take(1, 'version')[0];
  if (version !== OFFER_VERSION) throw new E2eError('UnsupportedVersion', `file offer version ${version}; this client reads version ${OFFER_VERSION}`);
  const fileId = hex(take(FILE_ID_LENGTH, 'file id'));
  const sizeBytes = take(8, 'size');
  const size = Number(new DataView(sizeBytes.buffer, sizeBytes.byteOffset, 8).getBigUint64(0));
  const chunkBytes = take(4, 'chunk size');
  const chunkSize = new DataView(chunkBytes.buffer, chunkBytes.byteOffset, 4).getUint32(0);
  if (size > MAX_SIZE || chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) throw bad('size or chunk size out of range');
  const key = take(KEY_LENGTH, 'key').slice();
  const sha256 = take(HASH_LENGTH, 'hash').slice();
  const nameLength = (take(1, 'name length')[0] << 8) | take(1, 'name length')[0];
  if (nameLength < 1 || nameLength > MAX_NAME_BYTES) throw bad(`a file name is 1 to ${MAX_NAME_BYTES} bytes`);
  let name;
  try { name = fromUtf8(take(nameLength, 'name')); } catch (e) { if (e instanceof E2eError) throw e; throw bad('the name is not UTF-8'); }
  const typeLength = take(1, 'content type length')[0];
  const contentType = String.fromCharCode(...take(typeLength, 'content type'));
  if (at !== bytes.length) throw bad('bytes after its end');
  if (!isContentType(contentType)) throw bad(`a content type is 0 to ${MAX_TYPE_LENGTH} printable ASCII characters`);
  return { fileId, size, chunkSize, key, sha256, name, contentType };
}

function isContentType(type) { return type.length <= MAX_TYPE_LENGTH && /^[\x20-\x7e]*$/.test(type); }

/** The whole file's SHA-256 against the offer's, in constant time (the offer's hash is no secret; the habit is kept). */
export function sameHash(a, b) { return equal(a, b); }

const REFUSED_IN_NAMES = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}<>:"/\\|?*]/u;
const DEVICE_NAMES = new Set(['CON', 'PRN', 'AUX', 'NUL', ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap(i => [`COM${i}`, `LPT${i}`])]);
const MAX_NAME_LENGTH = 120;
export const FALLBACK_NAME = 'received-file';

/**
 * The name a received file is handed over under, as parley chat's SafeFileName makes it: the
 * sender's name cut to its last path element, with controls, format characters, separators,
 * characters Windows refuses and unassigned or private characters replaced; no leading dots that
 * would hide it; at most 120 characters, its extension kept; never a Windows device name.
 */
export function safeFileName(offered) {
  let name = String(offered ?? '');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  let result = [...name].map(c => (REFUSED_IN_NAMES.test(c) ? '_' : c)).join('').trim().replace(/^\.+/, '').replace(/[. ]+$/, '');
  const chars = [...result];
  if (chars.length > MAX_NAME_LENGTH) {
    const dot = result.lastIndexOf('.');
    let extension = dot > 0 ? result.slice(dot) : '';
    if ([...extension].length > 16) extension = '';
    result = chars.slice(0, MAX_NAME_LENGTH - [...extension].length).join('').trimEnd() + extension;
  }
  if (result.length === 0) return FALLBACK_NAME;
  return DEVICE_NAMES.has(result.split('.')[0].trimEnd().toUpperCase()) ? `_${result}` : result;
}
