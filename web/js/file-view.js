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
import { Upload, download } from './file-transfer.js';

const MAX_FILE_RECIPIENTS = 256;
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
  /** `page`: {app, groups, sanitize, contact, save, render, isGroupConversation}. */
  constructor(page) {
    this.page = page;
    /** Uploads waiting for a connection: {upload, conversation, entry}. */
    this.waiting = [];
    /** Uploads that went on after a lost connection, and from which chunk: {name, fromChunk}. */
    this.resumed = [];
    this.running = false;
    this.saving = new Set();
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
        if (e.file?.progress !== undefined) delete e.file.progress;
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
    contact(conversation).messages.push(entry);
    this.page.render(conversation);
    try {
      const recipients = await this.recipients(conversation);
      this.waiting.push({ upload: new Upload(file, recipients, chunkSizeFor(this.app.messenger?.maxBodyLength)), conversation, entry });
    } catch (e) {
      entry.status = 'failed';
      entry.note = sanitize(e.message, 300);
      delete entry.file.progress;
      await this.page.save();
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

  /** Goes on with the uploads waiting, one at a time, while connected (after a send, and after each login). */
  async resume() {
    if (this.running) return;
    this.running = true;
    try {
      while (this.waiting.length && this.app.messenger) {
        const job = this.waiting[0];
        const messenger = this.app.messenger;
        try {
          await this.upload(messenger, job);
          this.waiting.shift();
        } catch (e) {
          if (messenger !== this.app.messenger || e instanceof ChannelError || e.code === 'connection_lost' || e.code === 'timeout') {
            // Cut off: kept, and taken up from the chunks the server holds on the next connection
            // (at once when one came while this one was failing; else startSession calls again).
            job.entry.note = 'connection lost: the upload goes on after reconnecting';
            this.page.render(job.conversation);
            if (this.app.messenger && this.app.messenger !== messenger) continue;
            break;
          }
          this.waiting.shift();
          job.entry.status = 'failed';
          job.entry.note = this.page.sanitize(e.message, 300);
          delete job.entry.file.progress;
          await this.page.save();
          this.page.render(job.conversation);
        }
      }
    } finally {
      this.running = false;
    }
  }

  async upload(messenger, { upload, conversation, entry }) {
    const { sanitize } = this.page;
    let drawn = 0;
    await upload.run(messenger, ({ phase, fraction }) => {
      entry.file.progress = `${phase} ${Math.floor(fraction * 100)}%`;
      if (Date.now() - drawn > PROGRESS_MS) { drawn = Date.now(); this.page.render(conversation); }
    });
    if (upload.resumedFrom !== null) this.resumed.push({ name: entry.file.name, fromChunk: upload.resumedFrom });
    delete entry.note;
    const offer = upload.takeOffer(upload.file.type);
    try {
      if (this.page.isGroupConversation(conversation)) {
        const sent = await this.page.groups.e2e.sendFileOffer(messenger, conversation.slice(1), offer, entry.messageId);
        entry.status = 'sent';
        entry.recipients = sent.recipients;
        if (sent.unreachable.length) entry.note = `${sent.unreachable.map(u => sanitize(u, 64)).join(', ')} cannot read the offer: no device with end-to-end keys, or a new identity key not yet trusted`;
      } else {
        const sent = await this.app.device.sendPayload(messenger, conversation, encodeFileOffer(entry.messageId, offer));
        entry.status = sent.devices === 0 ? 'failed' : sent.delivered ? 'sent' : 'queued';
        if (sent.devices === 0) entry.note = `${sanitize(conversation, 64)} has no device with end-to-end keys yet; the file was not offered`;
      }
    } finally {
      offer.fill(0);
    }
    delete entry.file.progress;
    entry.text = `Sent ${entry.file.name} (${formatSize(entry.file.size)}), encrypted end to end`;
    await this.page.save();
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

  /** Fetches, opens and checks the file, then hands it to the browser as a download, and tells the server this device has it. */
  async save(entry) {
    const { sanitize } = this.page;
    const messenger = this.app.messenger;
    if (!messenger || this.saving.has(entry) || !entry.file?.offer) return;
    this.saving.add(entry);
    const conversation = this.page.conversationOf(entry);
    let offer;
    try {
      offer = decodeOffer(fromHex(entry.file.offer));
      let drawn = 0;
      entry.file.progress = 'saving 0%';
      delete entry.note;
      this.page.render(conversation);
      const blob = await download(messenger, offer, fraction => {
        entry.file.progress = `saving ${Math.floor(fraction * 100)}%`;
        if (Date.now() - drawn > PROGRESS_MS) { drawn = Date.now(); this.page.render(conversation); }
      });
      this.handOver(blob, safeFileName(offer.name));
      // Only now, with the file verified and handed over: the server may forget it once every device of ours said so.
      await messenger.fileDone(offer.fileId).catch(() => {});
      entry.file = { name: entry.file.name, size: entry.file.size, saved: true }; // the key goes with the offer
    } catch (e) {
      delete entry.file.progress;
      entry.note = e.code === 'unknown_file'
        ? 'the server no longer has this file (it expired, or every device of yours took it already)'
        : `not saved: ${sanitize(e.message, 200)}${e.code === 'connection_lost' || e.code === 'timeout' ? '; press Save again once connected' : ''}`;
    } finally {
      offer?.key.fill(0);
      this.saving.delete(entry);
      await this.page.save();
      this.page.render(conversation);
    }
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
