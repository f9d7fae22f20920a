// The sessions the page holds with one peer device (PROTOCOL.md §13.10 "Sessions per peer
// device"), as Parley.Client's PeerSessions holds them: the one it sends on, first, and up to
// MAX_ARCHIVED earlier ones it still reads. Both sides can start a session at the same moment,
// each sending a first message before reading the other's; each then accepts the other's session
// and keeps its own, so every message of both is read, and the side that reads on an earlier
// session sends on it from then on, which is how the two converge. Keeping only the newest
// session lost every message the peer sent on ours before it switched.
//
// A peer is stored as { v: 2, sessions: [current, ...archived] }; an older page stored the one
// session itself, which is read as a peer with that session alone.
import * as session from './session.js';

/** Earlier sessions kept for reading; beyond this the oldest goes, its keys wiped. */
export const MAX_ARCHIVED = 3;

/** A peer with one session (just started, or just accepted with nothing before it). */
export function single(s) { return { v: 2, sessions: [s] }; }

/** A stored peer as the page uses it: an older page's bare session becomes a peer with it alone. */
export function fromStored(value) {
  if (value?.v !== 2) return single(value);
  for (const dropped of value.sessions.slice(1 + MAX_ARCHIVED)) wipe(dropped);
  return { v: 2, sessions: value.sessions.slice(0, 1 + MAX_ARCHIVED) };
}

/** The session messages are sent on. */
export function current(peer) { return peer.sessions[0]; }

/** A new session becomes current; the one before is kept for reading messages still on their way. */
export function promote(peer, s) {
  const sessions = [s, ...peer.sessions];
  for (const dropped of sessions.splice(1 + MAX_ARCHIVED)) wipe(dropped);
  return { v: 2, sessions };
}

/**
 * Decrypts with whichever session the envelope belongs to, current first: {peer, plaintext}, the
 * session that read it current (swapped with the one that was). Throws the current session's
 * error when none reads it; the peer is then unchanged (session.decrypt works on a copy).
 */
export async function decrypt(peer, envelope) {
  let first = null;
  for (let i = 0; i < peer.sessions.length; i++) {
    try {
      const { session: next, plaintext } = await session.decrypt(peer.sessions[i], envelope);
      const sessions = [...peer.sessions];
      sessions[i] = sessions[0];
      sessions[0] = next;
      return { peer: { v: 2, sessions }, plaintext };
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

/** Every session of the peer, current first (for bounds over all of them). */
export function all(peer) { return peer.sessions; }

/** The message keys and chain keys of a session no longer kept (its CryptoKeys cannot be wiped; they go with it). */
export function wipe(s) {
  for (const [, mk] of s?.skipped ?? []) mk.fill(0);
  for (const field of ['rk', 'cks', 'ckr', 'sk']) if (s?.[field] instanceof Uint8Array) s[field].fill(0);
}
