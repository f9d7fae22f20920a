// What the page holds of its conversations, all of them together. The page keeps every message it
// holds in memory and sealed in IndexedDB, and whoever can write to us decides how many come and
// how long they are. Counts alone (5,000 a conversation, 1,000 conversations) let one sender of
// 64 KiB texts grow a conversation to ~640 MB of UTF-16, and a thousand senders the page to far
// more than a browser tab has.
//
// So the page also keeps a budget: each message costs its text (and a file's name) in characters
// plus ENTRY_COST for the rest of it. Past the budget, the conversation costing most loses its
// oldest messages until the page is within it again: whoever floods us loses their own history
// first, and the user's quieter conversations keep theirs. A conversation always keeps its newest
// message, so what just came in is shown.

/** Messages a conversation keeps at most, oldest dropped first. */
export const MAX_MESSAGES = 5000;

/** What a message costs besides its text: the fields every message has, and a file offer's. */
export const ENTRY_COST = 128;

/**
 * All conversations together, in ENTRY_COST and characters: ~64 MB of text (UTF-16) however it is
 * spent, passed only by each conversation's newest message (at most 1,000 of them).
 */
export const MAX_HISTORY_UNITS = 32 * 1024 * 1024;

/** What one message costs of the budget: fixed when it is added (its text and file name never change in place). */
export function entryCost(entry) {
  const text = typeof entry.text === 'string' ? entry.text.length : 0;
  const file = typeof entry.file?.name === 'string' ? entry.file.name.length : 0;
  return ENTRY_COST + text + file;
}

export class HistoryBudget {
  /** The budget and the count bound; tests lower them to reach them cheaply. */
  static maxUnits = MAX_HISTORY_UNITS;
  static maxMessages = MAX_MESSAGES;

  /** @param {Map<string, {messages: object[], base?: number}>} contacts the page's conversations, which this bounds. */
  constructor(contacts) {
    this.contacts = contacts;
    this.cost = new WeakMap(); // conversation → what its messages cost
    this.total = 0;
    for (const c of contacts.values()) this.counted(c);
  }

  /** A conversation that came with its messages (loaded): counted whole. */
  counted(c) {
    let units = 0;
    for (const e of c.messages) units += entryCost(e);
    this.total += units - (this.cost.get(c) ?? 0);
    this.cost.set(c, units);
  }

  /** A conversation the page forgot: what it cost is free again. */
  forgotten(c) {
    this.total -= this.cost.get(c) ?? 0;
    this.cost.delete(c);
  }

  /** `entry` is added at the end of `c`. Returns the conversations that lost messages from their front (`base` moved). */
  add(c, entry) {
    c.messages.push(entry);
    const units = entryCost(entry);
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
      while (freed < need && count < most.messages.length - 1) freed += entryCost(most.messages[count++]);
      this.dropOldest(most, count);
      dropped.add(most);
    }
    return dropped;
  }

  dropOldest(c, count) {
    let freed = 0;
    for (const e of c.messages.splice(0, count)) freed += entryCost(e);
    c.base = (c.base ?? 0) + count;
    this.cost.set(c, (this.cost.get(c) ?? 0) - freed);
    this.total -= freed;
  }
}
