// Asking for a sender key, and answering (PROTOCOL.md §14.3 "Asking for a key"), paced as
// Parley.Client's SenderKeyRequests paces it. Both directions are driven by what others send us, so
// both are bounded: each (group, other device) is asked or answered at most once per five minutes
// whatever the key id, and at most a few a minute in all; a queue waiting for a connection keeps
// the newest 64. What is refused here is not sent, and a later message asks again; what a lost
// connection cut off is put back. Pure state over a clock.
export const REPEAT_AFTER_MS = 5 * 60 * 1000;
/** Requests this device makes at most per minute: a member who makes up key ids cannot make it send more. */
export const ASKS_PER_MINUTE = 10;
/** Answers this device sends at most per minute: each costs a pairwise envelope (and, to a new device, a bundle fetch). */
export const ANSWERS_PER_MINUTE = 30;
/** Member lists asked of the server at most per minute (each group at most once per five minutes). */
export const MEMBER_LISTS_PER_MINUTE = 10;
export const MAX_REMEMBERED = 1024;
export const MAX_WAITING = 64;

class Direction {
  constructor(now, perMinute) {
    this.now = now; this.perMinute = perMinute;
    this.lately = new Map(); this.waiting = [];
    this.tokens = perMinute; this.filledAt = now();
  }

  /** 'asked' (queued), 'askedBefore' (that device lately: waiting for its answer) or 'notAsked' (the rate is spent). */
  want(w) {
    const key = `${w.groupId}/${w.user}/${w.device}`;
    const t = this.now();
    const at = this.lately.get(key);
    if (at !== undefined && t - at < REPEAT_AFTER_MS) return 'askedBefore';
    this.tokens = Math.min(this.perMinute, this.tokens + ((t - this.filledAt) / 60000) * this.perMinute);
    this.filledAt = t;
    if (this.tokens < 1) return 'notAsked';
    this.tokens -= 1;
    // A Map keeps insertion order: set again, the key is the newest, and the oldest go first.
    this.lately.delete(key);
    this.lately.set(key, t);
    while (this.lately.size > MAX_REMEMBERED) this.lately.delete(this.lately.keys().next().value);
    this.waiting.push(w);
    this.bound();
    return 'asked';
  }

  take() { const taken = this.waiting; this.waiting = []; return taken; }

  /** Taken but not sent (the connection went): ahead of what came since, within the bound. */
  putBack(wants) { this.waiting = [...wants, ...this.waiting]; this.bound(); }

  /** Refused, or dropped from the queue: that device counts as never asked (or answered), so the next message asks again. */
  forget(w) { this.lately.delete(`${w.groupId}/${w.user}/${w.device}`); }

  bound() {
    if (this.waiting.length <= MAX_WAITING) return;
    for (const dropped of this.waiting.splice(0, this.waiting.length - MAX_WAITING)) this.forget(dropped);
  }
}

/** `now`: milliseconds from any origin (tests pass their own clock). A want is {groupId (hex), user, device, keyId}. */
export class SenderKeyRequests {
  constructor(now = () => performance.now()) {
    this.asks = new Direction(now, ASKS_PER_MINUTE);
    this.answers = new Direction(now, ANSWERS_PER_MINUTE);
    this.memberLists = new Direction(now, MEMBER_LISTS_PER_MINUTE);
  }

  /** A group held only in part got a key from a sender its list does not name: its member list is asked for (§14.3). */
  wantMembers(groupId) { this.memberLists.want({ groupId, user: '', device: '', keyId: 0 }); }
  takeMemberLists() { return this.memberLists.take().map(w => w.groupId); }
  putBackMemberLists(groupIds) { this.memberLists.putBack(groupIds.map(groupId => ({ groupId, user: '', device: '', keyId: 0 }))); }

  /** A request to make, for a group message this device could not open: 'asked', 'askedBefore' or 'notAsked'. */
  wantAsk(w) { return this.asks.want(w); }

  /** A request that arrived, to answer; false when that device was answered lately or the rate is spent. */
  wantAnswer(w) { return this.answers.want(w) === 'asked'; }

  takeAsks() { return this.asks.take(); }
  takeAnswers() { return this.answers.take(); }
  putBackAsks(wants) { this.asks.putBack(wants); }
  putBackAnswers(wants) { this.answers.putBack(wants); }
  /** A request refused (by the server, or held back by a changed identity): the next message it cannot read asks again, and says so. */
  askNotSent(w) { this.asks.forget(w); }
  answerNotSent(w) { this.answers.forget(w); }
  get hasWork() { return this.asks.waiting.length > 0 || this.answers.waiting.length > 0 || this.memberLists.waiting.length > 0; }
}
