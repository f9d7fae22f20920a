// The page's groups (PROTOCOL.md §11.7, §14): the groups and invitations the server lists at each
// login, a conversation per group ('#name' in the contact list: no username can hold '#'),
// membership notices as lines in it, invitations to join or decline (and to let their sender add
// us directly from then on), and the group's own messages end to end through E2eGroups. As
// everywhere on the page, names and texts reach the DOM through textContent after sanitize().
import { E2eGroups, GROUP_CONTENT_TYPE, GROUP_CHANGED_CONTENT_TYPE, isCanonical, distributionIn } from './e2e/groups.js';
import { KIND_SENDER_KEY } from './e2e/payload.js';

export { GROUP_CONTENT_TYPE, GROUP_CHANGED_CONTENT_TYPE };
export const isGroupConversation = name => typeof name === 'string' && name.startsWith('#');
const conversationOf = group => `#${group}`;
const GROUP_ID = /^[0-9a-f]{32}$/;

export class GroupView {
  /** `page`: {app, contact, sanitize, banner, $, refresh()} from app.js. */
  constructor(page) {
    this.page = page;
    this.e2e = null;
    this.invitations = new Map();
  }

  get app() { return this.page.app; }

  /** A new device object after each login: the groups' state lives in its record. */
  attach(device) { this.e2e = new E2eGroups(device); }

  /** At each login: invitations, and the groups this account is in (a group this device has not heard of is asked for). */
  async load(messenger) {
    const list = await messenger.groupList();
    this.invitations = new Map((list.invitations ?? [])
      .filter(i => isCanonical(i.group) && isCanonical(i.invitedBy) && GROUP_ID.test(i.groupId ?? ''))
      .map(i => [i.groupId, { group: i.group, groupId: i.groupId, invitedBy: i.invitedBy }]));
    const listed = new Set();
    for (const g of list.groups ?? []) {
      if (!isCanonical(g.group) || !GROUP_ID.test(g.groupId ?? '')) continue;
      listed.add(g.groupId);
      const c = this.page.contact(conversationOf(g.group));
      c.left = false;
      const known = this.e2e.byName(g.group);
      if (known?.id !== g.groupId || known.version < g.version) {
        // Joined on another device, or while this one was away: its members before the notices that follow.
        try { await this.e2e.learn(await messenger.groupMembers(g.group)); } catch { /* asked again at the first send */ }
      }
    }
    for (const name of this.e2e.names()) {
      const known = this.e2e.byName(name);
      if (!listed.has(known.id)) {
        await this.e2e.forget(name);
        const c = this.app.contacts.get(conversationOf(name));
        if (c) c.left = true;
      }
    }
    this.renderInvitations();
  }

  /** A kind-5 pairwise payload (a member's sender key), opened from (from, fromDevice). */
  async takeSenderKey(m, opened) {
    if (opened.kind !== KIND_SENDER_KEY || !m.fromDevice) return;
    await this.e2e.takeSenderKey(m.from, m.fromDevice, distributionIn(opened.groupPayload));
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
    if (r.error) {
      return { conversation, entry: { ...base, dir: 'in', failed: true, text: `A group message from ${from} could not be read: ${r.error} (${sanitize(r.reason, 200)})` } };
    }
    if (r.fileOffer) {
      return { conversation, entry: { ...base, dir: 'in', failed: true, text: `${from} offered a file to the group, end to end; files are not in the browser client yet: save it with parley chat ('savefile').` } };
    }
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
      this.invitations.set(change.groupId, { group: change.group, groupId: change.groupId, invitedBy: change.actor });
      this.renderInvitations();
      return null;
    }
    const conversation = conversationOf(change.group);
    const c = this.page.contact(conversation);
    if (r.weLeft) c.left = true;
    else if (change.subjects.includes(this.app.user) && (change.change === 'created' || change.change === 'added')) c.left = false;
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
    const sent = await this.e2e.sendText(this.app.messenger, conversation.slice(1), entry.text, entry.messageId);
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
    this.page.contact(conversationOf(info.group)).left = false;
    return info;
  }

  async accept(invitation) {
    const info = await this.app.messenger.groupAccept(invitation.group, invitation.groupId);
    this.invitations.delete(invitation.groupId);
    await this.e2e.learn(info);
    const c = this.page.contact(conversationOf(info.group));
    c.left = false;
    c.messages.push({ dir: 'notice', time: Date.now(), text: `You joined ${conversationOf(info.group)} (invited by ${invitation.invitedBy})` });
    return info;
  }

  async decline(invitation) {
    await this.app.messenger.groupDecline(invitation.group, invitation.groupId);
    this.invitations.delete(invitation.groupId);
  }

  async allow(user) {
    await this.app.messenger.groupAllow(user);
    return `${this.page.sanitize(user, 64)} can now add you to groups without asking`;
  }

  async leave(conversation) {
    const group = conversation.slice(1);
    await this.app.messenger.groupLeave(group);
    await this.e2e.forget(group);
    this.page.contact(conversation).left = true;
  }

  async add(conversation, members) { return this.e2e.learn(await this.app.messenger.groupAdd(conversation.slice(1), members)); }

  async remove(conversation, members) { return this.e2e.learn(await this.app.messenger.groupRemove(conversation.slice(1), members)); }

  /** What the conversation header says of a group: {status, admin, member}. */
  header(conversation) {
    const group = this.e2e?.byName(conversation.slice(1));
    const left = this.app.contacts.get(conversation)?.left;
    if (!group || left) return { status: left ? 'you are not a member' : '', admin: false, member: !left && !!group };
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
