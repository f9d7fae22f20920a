// What the page holds of its conversations, all of them together. The page keeps every message it
// holds in memory and sealed in IndexedDB, and whoever can write to us decides how many come and
// how long they are. Counts alone (5,000 a conversation, 1,000 conversations) let one sender of
// 64 KiB texts grow a conversation to ~640 MB of UTF-16, and a thousand senders the page to far
// more than a browser tab has.
//
// So the page also keeps a budget: each message costs the characters of its strings (its text, a
// file's name and offer, the names its receipts came from) plus ENTRY_COST for the rest of it, and
// what it cost when counted is what its dropping frees, so the total never drifts; a message
// changed in place is counted again. Past the budget, the conversation costing most loses its
// oldest messages until the page is within it again: one sender flooding us loses their own
// history first, and the user's quieter conversations keep theirs (many senders at once level the
// largest conversations down toward each other; a group is one conversation, whoever floods it).
// A conversation always keeps its newest message, so what just came in is shown.

/** Messages a conversation keeps at most, oldest dropped first. */
export const MAX_MESSAGES = 5000;

/** What a message (and a file in it) costs besides its strings: its other fields and the object itself. */
export const ENTRY_COST = 128;
/** What each receipt a message holds costs besides the sender's name. */
const RECEIPT_COST = 16;

/**
 * All conversations together, in ENTRY_COST and characters: ~64 MB of text (UTF-16) however it is
 * spent, passed only by each conversation's newest message (at most 1,000 of them).
 */
export const MAX_HISTORY_UNITS = 32 * 1024 * 1024;

const strings = o => { let n = 0; for (const v of Object.values(o)) if (typeof v === 'string') n += v.length; return n; };

/** What one message costs of the budget now. */
export function entryCost(entry) {
  let units = ENTRY_COST + strings(entry);
  if (entry.file && typeof entry.file === 'object') units += ENTRY_COST + strings(entry.file);
  if (entry.receipts && typeof entry.receipts === 'object') for (const from of Object.keys(entry.receipts)) units += RECEIPT_COST + from.length;
  return units;
}

export class HistoryBudget {
  /** The budget and the count bound; tests lower them to reach them cheaply. */
  static maxUnits = MAX_HISTORY_UNITS;
  static maxMessages = MAX_MESSAGES;

  /** @param {Map<string, {messages: object[], base?: number}>} contacts the page's conversations, which this bounds. */
  constructor(contacts) {
    this.contacts = contacts;
    this.cost = new WeakMap(); // conversation → what its messages cost
    this.entries = new WeakMap(); // message → [its conversation, what it cost when last counted]
    this.total = 0;
    for (const c of contacts.values()) this.counted(c);
  }

  /** A conversation that came with its messages (loaded): counted whole. */
  counted(c) {
    let units = 0;
    for (const e of c.messages) units += this.count(c, e);
    this.total += units - (this.cost.get(c) ?? 0);
    this.cost.set(c, units);
  }

  /** A conversation the page forgot: what it cost is free again. */
  forgotten(c) {
    this.total -= this.cost.get(c) ?? 0;
    this.cost.delete(c);
  }

  count(c, entry) {
    const units = entryCost(entry);
    this.entries.set(entry, [c, units]);
    return units;
  }

  /** `entry` changed in place (a receipt, a send's outcome, a file's state): counted again. */
  changed(entry) {
    const known = this.entries.get(entry);
    if (!known) return;
    const [c, before] = known;
    const units = this.count(c, entry) - before;
    this.cost.set(c, (this.cost.get(c) ?? 0) + units);
    this.total += units;
  }

  /** `entry` is added at the end of `c`. Returns the conversations that lost messages from their front (`base` moved). */
  add(c, entry) {
    c.messages.push(entry);
    const units = this.count(c, entry);
    this.cost.set(c, (this.cost.get(c) ?? 0) + units);
    this.total += units;
    const dropped = new Set();
    if (c.messages.length > HistoryBudget.maxMessages) {
      this.dropOldest(c, c.messages.length - HistoryBudget.maxMessages);
      dropped.add(c);
    }
    for (const d of this.withinBudget()) dropped.add(d);
    return dropped;
  }

  /** Until the page is within the budget, the conversation costing most loses its oldest messages. Returns those that lost some. */
  withinBudget() {
    const dropped = new Set();
    // Each round empties one conversation down to its newest message or brings the page within the budget.
    for (let rounds = this.contacts.size; this.total > HistoryBudget.maxUnits && rounds > 0; rounds--) {
      let most = null;
      for (const c of this.contacts.values()) {
        if (c.messages.length > 1 && (most === null || (this.cost.get(c) ?? 0) > (this.cost.get(most) ?? 0))) most = c;
      }
      if (most === null) break;
      let count = 0, freed = 0;
      const need = this.total - HistoryBudget.maxUnits;
      while (freed < need && count < most.messages.length - 1) freed += this.entries.get(most.messages[count++])?.[1] ?? 0;
      this.dropOldest(most, count);
      dropped.add(most);
    }
    return dropped;
  }

  dropOldest(c, count) {
    let freed = 0, unread = 0;
    for (const e of c.messages.splice(0, count)) {
      freed += this.entries.get(e)?.[1] ?? 0;
      this.entries.delete(e);
      if (e.dir === 'in' && e.seen === false) unread++;
    }
    c.base = (c.base ?? 0) + count;
    if (unread) c.unread = Math.max(0, (c.unread ?? 0) - unread);
    this.cost.set(c, (this.cost.get(c) ?? 0) - freed);
    this.total -= freed;
  }
}
