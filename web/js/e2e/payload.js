// What is inside an end-to-end envelope (PROTOCOL.md §13.10–§13.11), as Parley.Client's
// E2ePayload and E2eReceipt read it: u8 kind || 16-byte message id || body. Texts (1) and
// broadcast copies (2) carry UTF-8; a receipt (3) carries u8 type || u8 count || count ids.
// Message ids are handled as 32 lower-case hex digits. Decoding is strict: anything else is an error.
import { concat, u8, utf8, fromUtf8, hex, fromHex, randomBytes } from '../bytes.js';

export const KIND_TEXT = 1;
export const KIND_BROADCAST = 2;
export const KIND_RECEIPT = 3;
// Groups (5 a sender key, 6 a request for one: PROTOCOL.md §14.3) go to the group layer (groups.js);
// a file offer (7: §15.2) is read by files.js.
export const KIND_SENDER_KEY = 5;
export const KIND_GROUP_CONTROL = 6;
export const KIND_FILE_OFFER = 7;
export const RECEIPT_DELIVERED = 1;
export const RECEIPT_READ = 2;
export const MAX_RECEIPT_IDS = 100;
const ID_LENGTH = 16;

/** A fresh random message id (hex). */
export function newMessageId() { return hex(randomBytes(ID_LENGTH)); }

function idBytes(id) {
  const bytes = fromHex(id);
  if (bytes.length !== ID_LENGTH) throw new Error('a message id is 16 bytes');
  return bytes;
}

export function encodeText(kind, id, text) { return concat(u8(kind), idBytes(id), utf8(text)); }

/** A file offer's payload (§15.2): the offer's bytes after the kind and the id, pairwise or in a group message alike. */
export function encodeFileOffer(id, offer) { return concat(u8(KIND_FILE_OFFER), idBytes(id), offer); }

/** A receipt payload naming 1 to 100 ids (hex) of one sender's messages. */
export function encodeReceipt(id, type, ids) {
  if (ids.length < 1 || ids.length > MAX_RECEIPT_IDS) throw new Error(`a receipt names 1 to ${MAX_RECEIPT_IDS} message ids`);
  return concat(u8(KIND_RECEIPT), idBytes(id), u8(type), u8(ids.length), ...ids.map(idBytes));
}

/**
 * {kind, id, text} for a text or broadcast, {kind, id, receipt: {type, ids}} for a receipt,
 * {kind, id, offer} for a file offer (its bytes, read by files.js), else {error, reason}.
 */
export function decodePayload(plaintext) {
  const malformed = reason => ({ error: 'MalformedData', reason });
  if (plaintext.length < 1 + ID_LENGTH) return malformed('the decrypted message is too short');
  const kind = plaintext[0];
  const id = hex(plaintext.subarray(1, 1 + ID_LENGTH));
  const body = plaintext.subarray(1 + ID_LENGTH);
  if (kind === KIND_TEXT || kind === KIND_BROADCAST) {
    try { return { kind, id, text: fromUtf8(body) }; } catch { return malformed('the decrypted message is not valid UTF-8'); }
  }
  if (kind === KIND_SENDER_KEY || kind === KIND_GROUP_CONTROL) return { kind, id, group: true };
  if (kind === KIND_FILE_OFFER) return { kind, id, offer: body };
  if (kind !== KIND_RECEIPT) return malformed('the decrypted message is not a kind this client knows');
  const type = body[0], count = body[1];
  if (body.length < 2 || (type !== RECEIPT_DELIVERED && type !== RECEIPT_READ) || count < 1 || count > MAX_RECEIPT_IDS
    || body.length !== 2 + count * ID_LENGTH) return malformed('the decrypted receipt is malformed');
  const ids = [];
  for (let i = 0; i < count; i++) ids.push(hex(body.subarray(2 + i * ID_LENGTH, 2 + (i + 1) * ID_LENGTH)));
  if (new Set(ids).size !== ids.length) return malformed('the decrypted receipt names an id twice');
  return { kind, id, receipt: { type, ids } };
}
