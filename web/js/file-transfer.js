// Moving one file end to end (PROTOCOL.md §11.8, §15) between the page and the server: an upload
// reads the chosen file a slice at a time, seals each chunk and sends it; a download opens each
// chunk as it comes and hands the verified file over as a Blob. Neither holds the file in one
// buffer: an upload holds one window of chunks, a download gives its parts to Blobs as it goes
// (the browser keeps large Blobs on disk).
import { sha256 } from '../vendor/sha256.js';
import { fromHex, randomBytes, equal } from './bytes.js';
import * as files from './e2e/files.js';
import { E2eError } from './e2e/keys.js';

/** Chunks sent before waiting for the server to say where the upload stands: with two windows in flight, at most 32 chunks (~2 MiB) are unconfirmed. */
const UPLOAD_WINDOW = 16;
/** Chunks asked for at once (the server holds at most 4 of them for this connection at a time). */
const DOWNLOAD_WINDOW = 8;
/** Bytes of plaintext read at once while fingerprinting. */
const HASH_SLICE = 4 * 1024 * 1024;
/** Decrypted parts gathered before they become one Blob (and leave this script's memory). */
const BLOB_PART_BYTES = 8 * 1024 * 1024;

async function readSlice(file, from, to) { return new Uint8Array(await file.slice(from, to).arrayBuffer()); }

/** The SHA-256 of the whole file, read a slice at a time. */
export async function fingerprint(file, onProgress = () => {}) {
  const hash = sha256.create();
  for (let at = 0; at < file.size; at += HASH_SLICE) {
    hash.update(await readSlice(file, at, Math.min(file.size, at + HASH_SLICE)));
    onProgress(Math.min(file.size, at + HASH_SLICE) / Math.max(1, file.size));
  }
  return hash.digest();
}

/**
 * One file being sent: its key, hash and the server's id are kept between attempts, so a lost
 * connection resumes from the chunks the server holds, after checking that the file is the same
 * (§15.1: never two plaintexts at one index under one key).
 */
export class Upload {
  constructor(file, recipients, chunkSize = files.DEFAULT_CHUNK) {
    this.file = file;
    this.recipients = recipients;
    this.layout = files.layout(file.size, chunkSize);
    this.key = null;
    this.hash = null;
    this.fileId = null;
    /** The chunk a resumed upload went on from (the first the server did not hold); null for one sent in one go. */
    this.resumedFrom = null;
  }

  /**
   * The server's word on where the upload stands, checked before it steers anything: a count that
   * is not a whole number in range could make this device seal a chunk twice under one nonce.
   */
  checked(state) {
    const { fileId, received, chunkCount, complete } = state ?? {};
    if (fileId !== this.fileId || chunkCount !== this.layout.count || typeof complete !== 'boolean'
      || !Number.isSafeInteger(received) || received < 0 || received > this.layout.count) {
      throw new E2eError('MalformedData', "the server's answer about the upload does not fit it (another file, count or state)");
    }
    return state;
  }

  /** Sends what the server does not hold yet and ends the upload; `onProgress({phase, fraction})`. */
  async run(messenger, onProgress = () => {}) {
    const hash = await fingerprint(this.file, fraction => onProgress({ phase: 'reading', fraction }));
    let from = 0;
    if (this.fileId === null) {
      this.hash = hash;
      this.key = randomBytes(files.KEY_LENGTH);
      const begun = await messenger.fileUploadBegin(this.recipients, this.layout.ciphertextSize, this.layout.chunkSize + files.TAG_LENGTH);
      if (!/^[0-9a-f]{32}$/.test(begun.fileId ?? '')) throw new E2eError('MalformedData', 'the server named the upload with an id that is not 32 hex digits');
      this.fileId = begun.fileId;
    } else {
      if (!equal(hash, this.hash)) throw new E2eError('FileChanged', 'the file changed while it was being sent; send it again');
      const state = this.checked(await messenger.fileUploadState(this.fileId));
      from = state.complete ? this.layout.count : state.received;
      this.resumedFrom = from;
      if (state.complete) return;
    }
    const id = fromHex(this.fileId);
    const upload = messenger.openUpload(this.fileId);
    try {
      let asked = null;
      for (let i = from; i < this.layout.count; i++) {
        const start = i * this.layout.chunkSize;
        const plaintext = await readSlice(this.file, start, start + this.layout.plaintextLength(i));
        if (plaintext.length !== this.layout.plaintextLength(i)) throw new E2eError('FileChanged', 'the file got shorter while it was being sent; send it again');
        await upload.send(i, await files.sealChunk(this.key, id, this.layout, i, plaintext));
        if ((i + 1 - from) % UPLOAD_WINDOW === 0 || i === this.layout.count - 1) {
          // The answer comes after the server has taken every chunk before it, so it paces the sending.
          const state = asked ? this.checked(await asked) : null;
          asked = messenger.fileUploadState(this.fileId);
          asked.catch(() => {}); // awaited below; a loop that stops first leaves no rejection unheard
          upload.check();
          if (state) onProgress({ phase: 'sending', fraction: state.received / this.layout.count });
        }
      }
      if (asked) this.checked(await asked);
      upload.check();
    } finally {
      upload.close();
    }
    await messenger.fileUploadEnd(this.fileId);
    onProgress({ phase: 'sending', fraction: 1 });
  }

  /** The offer for the recipients (§15.2); the key leaves this object with it. */
  takeOffer(contentType) {
    const offer = files.encodeOffer({
      fileId: this.fileId, size: this.file.size, chunkSize: this.layout.chunkSize, key: this.key, sha256: this.hash,
      name: offerName(this.file.name), contentType: /^[\x20-\x7e]{0,128}$/.test(contentType ?? '') ? contentType : '',
    });
    this.wipe();
    return offer;
  }

  wipe() { this.key?.fill(0); this.key = null; }
}

/** A name the offer can carry: 1 to 255 bytes of UTF-8. */
function offerName(name) {
  let n = String(name || 'file');
  while (new TextEncoder().encode(n).length > 255) n = n.slice(0, -1);
  return n;
}

/**
 * Fetching, opening and checking one offered file. `run` gives a Blob of the verified plaintext, or
 * an E2eError (DecryptionFailed) for a chunk that does not authenticate or a whole file whose
 * SHA-256 is not the offer's; nothing unverified is handed out. A run cut off by a lost connection
 * leaves the chunks already verified (and the hash over them), and the next run goes on from there.
 */
export class Download {
  constructor(offer) {
    this.offer = offer;
    this.layout = files.layout(offer.size, offer.chunkSize);
    this.id = fromHex(offer.fileId);
    this.hash = sha256.create();
    this.blobs = [];
    this.parts = [];
    this.partBytes = 0;
    /** The first chunk not verified yet. */
    this.next = 0;
  }

  async run(messenger, onProgress = () => {}) {
    const { layout, offer } = this;
    while (this.next < layout.count) {
      const chunks = await messenger.fileDownload(offer.fileId, this.next, Math.min(DOWNLOAD_WINDOW, layout.count - this.next));
      if (chunks.length === 0) throw new E2eError('DecryptionFailed', 'the server sent no chunk');
      for (const chunk of chunks) {
        if (chunk.chunkCount !== layout.count || chunk.last !== (chunk.index === layout.count - 1)) {
          throw new E2eError('DecryptionFailed', `the server's file has another number of chunks than the offer (${Number(chunk.chunkCount)}, not ${layout.count})`);
        }
        const plaintext = await files.openChunk(offer.key, this.id, layout, this.next, chunk.body);
        // Taken in together, with no wait between: a cut-off run never leaves the hash and `next` apart.
        this.hash.update(plaintext);
        this.parts.push(plaintext);
        this.partBytes += plaintext.length;
        this.next++;
      }
      if (this.partBytes >= BLOB_PART_BYTES) { this.blobs.push(new Blob(this.parts)); this.parts = []; this.partBytes = 0; }
      onProgress(this.next / layout.count);
    }
    if (!files.sameHash(this.hash.digest(), offer.sha256)) {
      throw new E2eError('DecryptionFailed', "the file's SHA-256 is not the one in the offer; nothing was saved");
    }
    return new Blob([...this.blobs, new Blob(this.parts)], { type: 'application/octet-stream' });
  }

  /** Given up: the key wiped, what was verified let go. */
  wipe() { this.offer.key.fill(0); this.blobs = []; this.parts = []; }
}
