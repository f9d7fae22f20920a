// What the page keeps between visits, in IndexedDB: CryptoKeys as they are (non-extractable, so
// the browser stores them without ever exposing their bytes) and everything else AES-256-GCM
// sealed under a non-extractable at-rest key, with the record's name as associated data
// (PROTOCOL.md §13.10 "At rest"), so a record moved under another name fails to open.
import { toBase64, fromBase64, utf8, fromUtf8 } from './bytes.js';
import { aesKeyGenerate, sealWithKey, openWithKey } from './crypto.js';

const DB_NAME = 'parley';
const STORE = 'records';
let dbPromise = null;
let atRestKey = null;

function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return dbPromise;
}

async function raw(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(STORE, mode);
    const request = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

async function key() {
  if (atRestKey) return atRestKey;
  let k = await raw('readonly', s => s.get('at-rest-key'));
  if (!k) {
    k = await aesKeyGenerate();
    await raw('readwrite', s => s.put(k, 'at-rest-key'));
  }
  atRestKey = k;
  return k;
}

/** CryptoKeys go into a side list; bytes become {$b: base64}; the rest is JSON. */
function split(value) {
  const keys = [];
  const json = JSON.stringify(value, function replacer(k, v) {
    const original = this[k];
    if (original instanceof CryptoKey) { keys.push(original); return { $k: keys.length - 1 }; }
    if (original instanceof Uint8Array) return { $b: toBase64(original) };
    return v;
  });
  return { keys, json };
}

function join(json, keys) {
  return JSON.parse(json, (k, v) => {
    if (v && typeof v === 'object' && '$b' in v) return fromBase64(v.$b);
    if (v && typeof v === 'object' && '$k' in v) return keys[v.$k];
    return v;
  });
}

export async function put(name, value) { await putEncoded(name, split(value)); }

/** A value as put() would store it, before sealing: its JSON (to compare with what was written) and the CryptoKeys beside it. */
export function encode(value) { return split(value); }

/** Seals and stores what encode() gave. */
export async function putEncoded(name, { keys, json }) {
  const sealed = await sealWithKey(await key(), utf8(json), utf8(name));
  await raw('readwrite', s => s.put({ keys, sealed }, name));
}

/** Undefined when absent; throws when the record does not open (changed or moved): fail closed. */
export async function get(name) {
  const record = await raw('readonly', s => s.get(name));
  if (!record) return undefined;
  let plain;
  try {
    plain = await openWithKey(await key(), record.sealed, utf8(name));
  } catch {
    // WebCrypto's OperationError says nothing: name the record (its kind, not the user) and what to do.
    throw new Error(`This browser's stored ${name.split(':')[0]} record does not open: it was changed or moved. ` +
      "Clear this site's data to start afresh on this browser (a new device).");
  }
  return join(fromUtf8(plain), record.keys);
}

export async function remove(name) { await raw('readwrite', s => s.delete(name)); }

/**
 * Several records written (a value) or deleted (undefined) in one IndexedDB transaction: all of
 * them or none, so state kept over several records never comes back half of one save and half of
 * another. Sealed before the transaction opens (IndexedDB commits a transaction left idle across an await).
 */
export async function putMany(entries) {
  await putManyEncoded(entries.map(([name, value]) => [name, value === undefined ? undefined : split(value)]));
}

/** putMany() of what encode() gave. */
export async function putManyEncoded(entries) {
  const k = await key();
  const sealed = [];
  for (const [name, encoded] of entries) {
    sealed.push([name, encoded === undefined ? undefined : { keys: encoded.keys, sealed: await sealWithKey(k, utf8(encoded.json), utf8(name)) }]);
  }
  await raw('readwrite', s => {
    let last = null;
    for (const [name, record] of sealed) last = record === undefined ? s.delete(name) : s.put(record, name);
    return last;
  });
}
