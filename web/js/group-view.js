// The page's groups (PROTOCOL.md §11.7, §14): the groups and invitations the server lists at each
// login, a conversation per group ('#name' in the contact list: no username can hold '#'),
// membership notices as lines in it, invitations to join or decline (and to let their sender add
// us directly from then on), and the group's own messages end to end through E2eGroups. As
// everywhere on the page, names and texts reach the DOM through textContent after sanitize().
import { E2eGroups, GROUP_CONTENT_TYPE, GROUP_CHANGED_CONTENT_TYPE, isCanonical } from './e2e/groups.js';

export { GROUP_CONTENT_TYPE, GROUP_CHANGED_CONTENT_TYPE };
export const isGroupConversation = name => typeof name === 'string' && name.startsWith('#');
const conversationOf = group => `#${group}`;
const GROUP_ID = /^[0-9a-f]{32}$/;
/** Invitations shown at most: the server keeps 50 live ones per user (§11.7). */
const MAX_INVITATIONS = 50;
/** Groups a user is in at most (the server's --max-groups-per-user default). */
const MAX_GROUPS = 100;
/** How long a burst of invitation notices is gathered before the list is asked again. */
const INVITATION_REFRESH_MS = 500;

export class GroupView {
  /** `page`: {app, contact, sanitize, banner, $, refresh()} from app.js. */
  constructor(page) {
    this.page = page;
    this.e2e = null;
    this.invitations = new Map();
    /** Groups the server listed at login, by name: a member of them even before this device has learned their membership. */
    this.listed = new Set();
    this.refreshTimer = null;
    this.keyWorkTimer = null;
  }

  get app() { return this.page.app; }

  /** A new device object after each login: the groups' state lives in its record. */
  attach(device) { this.e2e = new E2eGroups(device); }

  /**
   * At each login: invitations, and the groups this account is in. The inbox rows that follow are
   * read in the server's order against what this device knew, so a group it knows is only marked
   * to be asked again before the next send (a member who left after writing is still read); a
   * group it has not heard of is asked for now; one no longer listed goes with its own notice.
   */
  async load(messenger) {
    const list = await messenger.groupList();
    this.takeInvitations(list);
    this.listed = new Set();
    let unlearned = 0;
    // At most the server's per-user bound: a longer list is not one an honest server sends.
    for (const g of (list.groups ?? []).slice(0, MAX_GROUPS)) {
      if (!isCanonical(g.group) || !GROUP_ID.test(g.groupId ?? '')) continue;
      this.listed.add(g.group);
      this.page.contact(conversationOf(g.group)).left = false;
      const known = this.e2e.byName(g.group);
      if (known?.id === g.groupId) {
        if (known.version < g.version) await this.e2e.markUnknown(known.id);
        continue;
      }
      try {
        const info = await messenger.groupMembers(g.group);
        if (info?.group !== g.group || info.groupId !== g.groupId) throw new Error('the server answered for another group');
        await this.e2e.learnAtLogin(info);
      } catch { unlearned++; }
    }
    // Known here but not listed: our removal's notice may have been skipped; the first send asks and ends it cheaply.
    for (const name of this.e2e.names()) {
      if (!this.listed.has(name)) await this.e2e.markUnknown(this.e2e.byName(name).id);
    }
    this.renderInvitations();
    if (unlearned) {
      this.page.banner(`${unlearned} group${unlearned === 1 ? '' : 's'} could not be loaded now; each is asked again at your next message to it.`);
    }
  }

  /** The server's invitations (group_list): the truth, replacing whatever notices said before. */
  takeInvitations(list) {
    this.invitations = new Map((list.invitations ?? [])
      .filter(i => isCanonical(i.group) && isCanonical(i.invitedBy) && GROUP_ID.test(i.groupId ?? ''))
      .slice(0, MAX_INVITATIONS)
      .map(i => [i.groupId, { group: i.group, groupId: i.groupId, invitedBy: i.invitedBy }]));
  }

  /**
   * An invitation notice may be old (answered, withdrawn or pushed out since; the inbox keeps it):
   * shown at once, then the list is asked again, once for a burst of them, and replaces it.
   */
  scheduleInvitationRefresh() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(async () => {
      this.refreshTimer = null;
      try {
        if (this.app.messenger) this.takeInvitations(await this.app.messenger.groupList());
      } catch { /* the notices' view stays until the next login */ }
      this.renderInvitations();
    }, INVITATION_REFRESH_MS);
  }

  /** A pairwise group payload opened from (from, fromDevice): a member's sender key (kind 5), or a request for ours (kind 6, §14.3). */
  async takeGroupPayload(m, opened) {
    if (!m.fromDevice) return;
    await this.e2e.takeGroupPayload(m.from, m.fromDevice, opened.groupPayload);
    this.scheduleKeyWork();
  }

  /**
   * Sends the key requests and answers owed, off the path that reads rows (as receipts are). Without
   * a connection nothing is scheduled: what waits is sent when the next session starts (app.js).
   */
  scheduleKeyWork() {
    if (this.keyWorkTimer || !this.e2e?.hasKeyWork || !this.app.messenger) return;
    this.keyWorkTimer = setTimeout(async () => {
      let lost = false;
      try {
        if (this.app.messenger) await this.e2e.sendKeyRequests(this.app.messenger);
      } catch {
        lost = true; // put back by sendKeyRequests, for the next connection
      } finally {
        this.keyWorkTimer = null;
      }
      // More may have come while these were sent.
      if (!lost) this.scheduleKeyWork();
    }, 0);
  }

  /** A group row from the inbox: {conversation, entry} to show, or null (nothing to show). */
  async receive(m) {
    const { sanitize } = this.page;
    const from = sanitize(m.from, 64);
    if (m.contentType === GROUP_CHANGED_CONTENT_TYPE) return this.receiveNotice(m, from);
    const r = await this.e2e.receiveMessage(m);
    if (r.own) return null;
    const conversation = r.group ? conversationOf(r.group) : m.from;
    const base = { from: m.from, time: m.timestamp, id: m.messageId };
    if (r.error === 'NoSenderKey' && r.keyAsk === 'asked') {
      this.scheduleKeyWork();
      return { conversation, entry: { ...base, dir: 'in', failed: true, text: `A message from ${from} could not be read here: this device has no key from ${from}'s device yet (it is new to the group, or lost its keys). Asking that device for it; what ${from} sends once it answers can be read.` } };
    }
    if (r.error === 'NoSenderKey' && r.keyAsk === 'askedBefore') {
      return { conversation, entry: { ...base, dir: 'in', failed: true, text: `Another message from ${from} could not be read here: still waiting for the key asked of that device.` } };
    }
    if (r.error) {
      return { conversation, entry: { ...base, dir: 'in', failed: true, text: `A group message from ${from} could not be read: ${r.error} (${sanitize(r.reason, 200)})` } };
    }
    if (r.offer) return { conversation, entry: this.page.offered(m.from, r.offer, { ...base, messageId: r.messageId }) };
    // Our own other device's message is ours; anyone else's is owed receipts (app.js sends them to its sender).
    return m.from === this.app.user
      ? { conversation, entry: { ...base, dir: 'out', text: r.text, messageId: r.messageId, status: 'sent', note: 'sent from your other device' } }
      : { conversation, entry: { ...base, dir: 'in', text: r.text, messageId: r.messageId } };
  }

  async receiveNotice(m, from) {
    const r = await this.e2e.receiveNotice(m);
    if (r.error) return { conversation: m.from, entry: { dir: 'in', failed: true, text: `A group notice from ${from} could not be read: ${r.error}`, time: m.timestamp, id: m.messageId } };
    const change = r.change;
    if (change.change === 'invited') {
      if (!this.e2e.byName(change.group) && this.invitations.size < MAX_INVITATIONS) {
        this.invitations.set(change.groupId, { group: change.group, groupId: change.groupId, invitedBy: change.actor });
      }
      this.scheduleInvitationRefresh();
      this.renderInvitations();
      return null;
    }
    const conversation = conversationOf(change.group);
    const c = this.page.contact(conversation);
    if (r.weLeft) {
      c.left = true;
      this.listed.delete(change.group);
    } else if (change.subjects.includes(this.app.user) && (change.change === 'created' || change.change === 'added')) {
      // In the group now (here or on another device): its invitation, if any, is answered.
      c.left = false;
      this.invitations.delete(change.groupId);
      this.renderInvitations();
    }
    // A change this very device made was already said when the server answered it.
    if (m.from === this.app.user && m.fromDevice === this.app.device?.s.deviceId) return null;
    return { conversation, entry: { dir: 'notice', text: this.describe(change, r.weLeft), time: m.timestamp, id: m.messageId } };
  }

  describe(change, weLeft) {
    const me = this.app.user;
    const who = name => (name === me ? 'you' : name);
    const list = names => names.map(who).join(', ');
    const actor = change.actor === me ? 'You' : change.actor;
    const group = conversationOf(change.group);
    switch (change.change) {
      case 'created': {
        const others = change.subjects.filter(s => s !== change.actor);
        return others.length ? `${actor} created ${group} with ${list(others)}` : `${actor} created ${group}`;
      }
      case 'added':
        return change.subjects.length === 1 && change.subjects[0] === change.actor ? `${actor} joined ${group}` : `${actor} added ${list(change.subjects)} to ${group}`;
      case 'removed':
        return weLeft ? `${actor} removed you from ${group}; you no longer read it` : `${actor} removed ${list(change.subjects)} from ${group}`;
      case 'left':
        return `${actor} left ${group}`;
      default:
        return `${actor} changed ${group} (${change.change.slice(0, 32)})`;
    }
  }

  /** Sends a text entry to the group conversation `conversation`; the entry shows what happened. */
  async send(conversation, entry) {
    const { sanitize } = this.page;
    let sent;
    try {
      sent = await this.e2e.sendText(this.app.messenger, conversation.slice(1), entry.text, entry.messageId);
    } catch (e) {
      if (['not_a_member', 'unknown_group', 'NotAMember'].includes(e.code)) {
        // Removed while a notice was lost (a full inbox skips it): the server's word ends it here.
        await this.e2e.forget(conversation.slice(1));
        this.listed.delete(conversation.slice(1));
        this.page.contact(conversation).left = true;
      }
      throw e;
    }
    entry.status = 'sent';
    entry.recipients = sent.recipients;
    if (sent.unreachable.length) {
      entry.note = `${sent.unreachable.map(u => sanitize(u, 64)).join(', ')} cannot read it: no device with end-to-end keys, or a new identity key not yet trusted`;
    }
  }

  // ── Membership requests: the server decides, this device follows ──

  async create(name, members) {
    const info = await this.app.messenger.groupCreate(name, members);
    await this.e2e.learn(info);
    this.listed.add(info.group);
    this.page.contact(conversationOf(info.group)).left = false;
    return info;
  }

  async accept(invitation) {
    const info = await this.answered(invitation, this.app.messenger.groupAccept(invitation.group, invitation.groupId));
    await this.e2e.learn(info);
    this.listed.add(info.group);
    const c = this.page.contact(conversationOf(info.group));
    c.left = false;
    this.page.addMessage(c, { dir: 'notice', time: Date.now(), text: `You joined ${conversationOf(info.group)} (invited by ${invitation.invitedBy})` });
    return info;
  }

  async decline(invitation) {
    await this.answered(invitation, this.app.messenger.groupDecline(invitation.group, invitation.groupId));
  }

  /** An answered invitation leaves the list, and so does one the server no longer has (not_invited: answered elsewhere, withdrawn, expired). */
  async answered(invitation, request) {
    try {
      const answer = await request;
      this.invitations.delete(invitation.groupId);
      return answer;
    } catch (e) {
      if (e.code === 'not_invited') this.invitations.delete(invitation.groupId);
      throw e;
    }
  }

  async allow(user) {
    await this.app.messenger.groupAllow(user);
    return `${this.page.sanitize(user, 64)} can now add you to groups without asking`;
  }

  async leave(conversation) {
    const group = conversation.slice(1);
    await this.app.messenger.groupLeave(group);
    await this.e2e.forget(group);
    this.listed.delete(group);
    this.page.contact(conversation).left = true;
  }

  async add(conversation, members) {
    const info = await this.app.messenger.groupAdd(conversation.slice(1), members);
    await this.e2e.learn(info);
    return info;
  }

  /** An admin removes members, itself too: then the group is over for this device. */
  async remove(conversation, members) {
    const info = await this.app.messenger.groupRemove(conversation.slice(1), members);
    if (!await this.e2e.learn(info)) {
      this.listed.delete(info.group);
      this.page.contact(conversation).left = true;
    }
    return info;
  }

  /** Whether `user` is in the group of `conversation` as this device knows it (receipts count only from members). */
  isMember(conversation, user) { return !!this.e2e?.isMember(conversation.slice(1), user); }

  /** What the conversation header says of a group: {status, admin, member}. */
  header(conversation) {
    const group = this.e2e?.byName(conversation.slice(1));
    const left = this.app.contacts.get(conversation)?.left;
    if (left) return { status: 'you are not a member', admin: false, member: false };
    // Listed by the server but not learned yet: a member; the first send asks for the membership.
    if (!group) return { status: '', admin: false, member: this.listed.has(conversation.slice(1)) };
    const members = group.members.length;
    return { status: `${members} member${members === 1 ? '' : 's'}: ${group.members.join(', ')}`, admin: group.admins.includes(this.app.user), member: true };
  }

  renderInvitations() {
    const { $, sanitize } = this.page;
    const list = $('invitations');
    list.replaceChildren();
    $('invitations-section').hidden = this.invitations.size === 0;
    for (const invitation of this.invitations.values()) {
      const li = document.createElement('li');
      li.dataset.group = invitation.group;
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = `${sanitize(invitation.invitedBy, 64)} invited you to ${conversationOf(sanitize(invitation.group, 64))}`;
      const buttons = document.createElement('span');
      buttons.className = 'buttons';
      const button = (label, className, action, title) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = className;
        b.textContent = label;
        if (title) b.title = title;
        b.onclick = () => this.page.act(action);
        buttons.append(b);
      };
      button('Join', 'join', async () => { await this.accept(invitation); this.page.open(conversationOf(invitation.group)); });
      button('Decline', 'decline secondary', () => this.decline(invitation));
      button(`Let ${sanitize(invitation.invitedBy, 64)} add me`, 'allow link', () => this.allow(invitation.invitedBy),
        'From now on this user adds you to groups without asking (undo with parley chat: group disallow)');
      li.append(text, buttons);
      list.append(li);
    }
  }
}
