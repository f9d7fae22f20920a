// Files on the page (PROTOCOL.md §15), as parley chat's sendfile and savefile have them: the
// File button sends the chosen file end to end to the open conversation (a user, or a group's other
// members); an offer that arrives shows with a Save button, and saving fetches, decrypts and checks
// the file before the browser is given it. An upload cut off by a lost connection goes on after
// reconnecting, from the chunks the server holds; one cut off by closing the page does not (the
// page cannot reopen a file the user chose), and says so.
import { hex, fromHex } from './bytes.js';
import { ChannelError } from './channel.js';
import { decodeOffer, safeFileName, DEFAULT_CHUNK, MIN_CHUNK, TAG_LENGTH } from './e2e/files.js';
import { encodeFileOffer, newMessageId } from './e2e/payload.js';
import { Upload, Download } from './file-transfer.js';

const MAX_FILE_RECIPIENTS = 256;
/** Timeouts on a live connection an upload survives before it fails. */
const MAX_TIMEOUTS = 2;
/** How often a transfer's progress is drawn at most. */
const PROGRESS_MS = 250;

/** Byte counts for people, as parley chat writes them: 512 B, 2.1 KiB, 2.1 MiB, 1.0 GiB. */
export function formatSize(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** parley chat's 48 KiB, or less when the server takes smaller bodies (a chunk's ciphertext is one body, §11.8). */
function chunkSizeFor(maxBodyLength) {
  return Math.max(MIN_CHUNK, Math.min(DEFAULT_CHUNK, (maxBodyLength || 64 * 1024) - TAG_LENGTH));
}

export class FileView {
  /** `page`: {app, groups, sanitize, contact, save(...entries changed in place), render, isGroupConversation}. */
  constructor(page) {
    this.page = page;
    /** Uploads waiting for a connection: {upload, conversation, entry}. */
    this.waiting = [];
    /** Uploads and saves that went on after a lost connection, and from which chunk: {name, fromChunk}. */
    this.resumed = [];
    this.resumedSaves = [];
    this.running = false;
    /** Entries being saved, and saves a lost connection cut off (waiting for the next session). */
    this.saving = new Set();
    this.pendingSaves = [];
  }

  get app() { return this.page.app; }

  /** After the history is loaded: transfers that were under way when the page went away are said to have stopped. */
  settle(contacts) {
    for (const c of contacts.values()) {
      for (const e of c.messages) {
        if (e.file && e.dir === 'out' && e.status === 'sending' && !this.waiting.some(w => w.entry === e)) {
          e.status = 'failed';
          e.note = 'the page was closed while sending: choose the file again to send it';
        }
        if (e.file?.progress !== undefined || e.note?.startsWith('connection lost: saving')) {
          delete e.file.progress;
          if (e.file.offer) e.note = 'saving stopped when the page was closed: press Save to start it again';
        }
      }
    }
  }

  /** Sends `file` to the conversation: uploaded, then offered end to end. */
  async send(conversation, file) {
    const { sanitize, contact } = this.page;
    const name = safeFileName(file.name);
    const entry = {
      dir: 'out', time: Date.now(), status: 'sending', messageId: newMessageId(),
      file: { name, size: file.size, progress: 'reading' }, text: `${name} (${formatSize(file.size)})`,
    };
    this.page.addMessage(contact(conversation), entry);
    this.page.render(conversation);
    try {
      const recipients = await this.recipients(conversation);
      this.waiting.push({ upload: new Upload(file, recipients, chunkSizeFor(this.app.messenger?.maxBodyLength)), conversation, entry, offer: null, timeouts: 0 });
    } catch (e) {
      entry.status = 'failed';
      entry.note = sanitize(e.message, 300);
      delete entry.file.progress;
      await this.page.save(entry);
      this.page.render(conversation);
      return;
    }
    await this.resume();
  }

  /** Who may download: the user, or the group's other members as the server lists them now (§15.2). */
  async recipients(conversation) {
    if (!this.app.messenger) throw new Error('not connected');
    if (!this.page.isGroupConversation(conversation)) return [conversation];
    const group = conversation.slice(1);
    const info = await this.app.messenger.groupMembers(group);
    const others = (info.members ?? []).filter(m => m !== this.app.user);
    if (others.length === 0 || others.length > MAX_FILE_RECIPIENTS) {
      throw new Error(`a file for a group goes to 1 to ${MAX_FILE_RECIPIENTS} other members; ${conversation} has ${others.length}`);
    }
    return others;
  }

  /**
   * Goes on with the uploads waiting, one at a time, while a session is up (after a send, and from
   * startSession after each login). A lost connection keeps the job for the next session; a request
   * that timed out on a live one is tried again at most twice, then the job fails.
   */
  async resume() {
    if (this.running) return;
    this.running = true;
    try {
      await this.tellDoneLeft();
      for (const job of this.pendingSaves.splice(0)) this.runSave(job); // each goes on beside the uploads
      while (this.waiting.length && this.app.connected && this.app.messenger) {
        const job = this.waiting[0];
        const messenger = this.app.messenger;
        try {
          await this.upload(messenger, job);
          this.waiting.shift();
        } catch (e) {
          const lost = messenger !== this.app.messenger || e instanceof ChannelError || e.code === 'connection_lost';
          if (lost || (e.code === 'timeout' && ++job.timeouts <= MAX_TIMEOUTS)) {
            job.entry.note = lost ? 'connection lost: the upload goes on after reconnecting' : 'the server is slow to answer: trying again';
            this.page.render(job.conversation);
            // On a session that came up meanwhile at once (the loop's condition waits for it to be
            // ready); on this one only after a timeout; else startSession calls again.
            if (!lost || (this.app.messenger && this.app.messenger !== messenger)) continue;
            break;
          }
          this.waiting.shift();
          this.fail(job, e);
          await this.page.save(job.entry);
          this.page.render(job.conversation);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** The `file_done` a lost connection cut off, said now. */
  async tellDoneLeft() {
    const left = [...this.app.contacts.values()].flatMap(c => c.messages.filter(e => e.file?.doneFor));
    for (const entry of left) {
      if (!this.app.connected || !this.app.messenger) return;
      await this.tellDone(this.app.messenger, entry);
    }
    if (left.length) await this.page.save(...left);
  }

  /** Uploads of a user who is no longer the one logged in: dropped and wiped. */
  drop() {
    for (const job of this.waiting) { job.upload.wipe(); job.offer?.fill(0); }
    for (const job of this.pendingSaves) job.download.wipe();
    this.waiting = [];
    this.pendingSaves = [];
    this.saving.clear();
  }

  /** A job that cannot go on: said in its message, its key and offer wiped (what was uploaded expires on the server). */
  fail(job, e) {
    job.entry.status = 'failed';
    job.entry.note = `not sent: ${this.page.sanitize(e.message, 300)}`;
    delete job.entry.file.progress;
    job.upload.wipe();
    job.offer?.fill(0);
    job.offer = null;
  }

  async upload(messenger, job) {
    const { upload, conversation, entry } = job;
    const { sanitize } = this.page;
    if (!job.offer) {
      let drawn = 0;
      await upload.run(messenger, ({ phase, fraction }) => {
        entry.file.progress = `${phase} ${Math.floor(fraction * 100)}%`;
        if (Date.now() - drawn > PROGRESS_MS) { drawn = Date.now(); this.page.render(conversation); }
      });
      if (upload.resumedFrom !== null) this.resumed.push({ name: entry.file.name, fromChunk: upload.resumedFrom });
      // Made once and kept with the job until it is sent: a lost connection before then sends this very offer again.
      job.offer = upload.takeOffer(upload.file.type);
    }
    entry.file.progress = 'offering';
    delete entry.note;
    if (this.page.isGroupConversation(conversation)) {
      const sent = await this.page.groups.e2e.sendFileOffer(messenger, conversation.slice(1), job.offer, entry.messageId);
      entry.status = 'sent';
      entry.recipients = sent.recipients;
      if (sent.unreachable.length) entry.note = `${sent.unreachable.map(u => sanitize(u, 64)).join(', ')} cannot read the offer: no device with end-to-end keys, or a new identity key not yet trusted`;
    } else {
      const payload = encodeFileOffer(entry.messageId, job.offer);
      let sent;
      try { sent = await this.app.device.sendPayload(messenger, conversation, payload); } finally { payload.fill(0); }
      if (sent.devices === 0) throw new Error(`${sanitize(conversation, 64)} has no device with end-to-end keys yet, so the file was not offered`);
      entry.status = sent.delivered ? 'sent' : 'queued';
    }
    job.offer.fill(0);
    job.offer = null;
    delete entry.file.progress;
    entry.text = `Sent ${entry.file.name} (${formatSize(entry.file.size)}), encrypted end to end`;
    await this.page.save(entry);
    this.page.render(conversation);
  }

  /** An offer that arrived (pairwise or in a group): the entry to show, holding the offer until it is saved. */
  offered(from, offerBytes, base) {
    const { sanitize } = this.page;
    let offer;
    try {
      offer = decodeOffer(offerBytes);
    } catch (e) {
      return { ...base, dir: 'in', failed: true, text: `A file offer from ${sanitize(from, 64)} could not be read: ${e.code ?? 'MalformedData'} (${sanitize(e.message, 200)})` };
    }
    offer.key.fill(0);
    const name = safeFileName(offer.name);
    const size = formatSize(offer.size);
    if (from === this.app.user) {
      // Our own offer, copied to this device like every message we send: the server keeps the file for the recipients only.
      return { ...base, dir: 'out', status: 'sent', text: `Sent ${name} (${size}) from your other device`, file: { name, size: offer.size } };
    }
    return { ...base, dir: 'in', text: `${sanitize(from, 64)} offers ${name} (${size})`, file: { name, size: offer.size, offer: hex(offerBytes) } };
  }

  /** The Save button or the transfer's state, drawn into a message's element. */
  decorate(li, entry) {
    if (!entry.file) return;
    const file = entry.file;
    const state = document.createElement('span');
    state.className = 'file-state';
    if (file.progress) state.textContent = ` · ${file.progress}`;
    else if (file.saved) state.textContent = ' · saved, SHA-256 verified';
    li.querySelector('.text')?.after(state);
    if (entry.dir !== 'in' || !file.offer || file.progress) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'save-file';
    button.textContent = 'Save';
    button.onclick = () => this.save(entry);
    state.after(button);
  }

  /** Save pressed: the file is fetched, opened and checked, then handed to the browser as a download. */
  async save(entry) {
    if (!this.app.messenger || this.saving.has(entry) || !entry.file?.offer) return;
    let download;
    try {
      download = new Download(decodeOffer(fromHex(entry.file.offer)));
    } catch (e) {
      entry.note = `not saved: ${this.page.sanitize(e.message, 200)}`;
      this.page.render(this.page.conversationOf(entry));
      return;
    }
    this.saving.add(entry);
    await this.runSave({ entry, download, timeouts: 0 });
  }

  /**
   * One run of a save; tells the server this device has the file once it is handed over. Cut off by
   * a lost connection it waits, with what it verified, for the next session (resume goes on with it).
   */
  async runSave(job) {
    const { entry, download } = job;
    const { sanitize } = this.page;
    const conversation = this.page.conversationOf(entry);
    const messenger = this.app.messenger;
    try {
      if (!messenger || !this.app.connected) throw Object.assign(new Error('not connected'), { code: 'connection_lost' });
      if (download.next > 0) this.resumedSaves.push({ name: entry.file.name, fromChunk: download.next });
      let drawn = 0;
      entry.file.progress = `saving ${Math.floor((download.next / download.layout.count) * 100)}%`;
      delete entry.note;
      this.page.render(conversation);
      const blob = await download.run(messenger, fraction => {
        entry.file.progress = `saving ${Math.floor(fraction * 100)}%`;
        if (Date.now() - drawn > PROGRESS_MS) { drawn = Date.now(); this.page.render(conversation); }
      });
      this.handOver(blob, safeFileName(download.offer.name));
      // The key goes with the offer. Only now, with the file verified and handed over, may the server
      // forget it (once every device awaited said so); `doneFor` stays until the server has heard it.
      entry.file = { name: entry.file.name, size: entry.file.size, saved: true, doneFor: download.offer.fileId };
      this.saving.delete(entry);
      download.wipe();
      await this.tellDone(messenger, entry);
    } catch (e) {
      const lost = messenger !== this.app.messenger || e instanceof ChannelError || e.code === 'connection_lost';
      if (lost || (e.code === 'timeout' && ++job.timeouts <= MAX_TIMEOUTS)) {
        entry.note = lost ? 'connection lost: saving goes on after reconnecting' : 'the server is slow to answer: trying again';
        if (lost) this.pendingSaves.push(job); else queueMicrotask(() => this.runSave(job));
        return;
      }
      this.saving.delete(entry);
      download.wipe();
      delete entry.file.progress;
      if (e.code === 'unknown_file') {
        // Nothing left to fetch: the offer and its key go, and so does the button.
        entry.file = { name: entry.file.name, size: entry.file.size, gone: true };
        entry.note = 'the server no longer has this file (it expired, or every device awaited took it already)';
      } else {
        entry.note = `not saved: ${sanitize(e.message, 200)}`;
      }
    } finally {
      await this.page.save(entry);
      this.page.render(conversation);
    }
  }

  /** `file_done` for a saved file; one the connection lost is said again after the next login (resume). */
  async tellDone(messenger, entry) {
    try {
      await messenger.fileDone(entry.file.doneFor);
    } catch (e) {
      if (e instanceof ChannelError || e.code === 'connection_lost' || e.code === 'timeout') return; // kept for the next session
      // Anything else is the server's last word (the file is gone already): nothing more to say.
    }
    delete entry.file.doneFor;
  }

  /** The browser's own download, under the sanitised name; the object URL lives only as long as the download needs it. */
  handOver(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
