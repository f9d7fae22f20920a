using System.Text.Json;

namespace Parley.Tests.Web;

/// <summary>
/// The page's group state (web/js/e2e/groups.js) against a hostile member or server, in a real
/// chromium with real WebCrypto: the bounds of PROTOCOL.md §14.3 on what others can make it hold,
/// sender keys only from members, notices only with names as the server makes them, and a removed
/// member's keys forgotten. The device underneath is an in-memory record (no IndexedDB), since
/// only the state's rules are under test here; BrowserChatTests runs the whole page.
/// </summary>
public class BrowserGroupStateTests
{
    [Fact]
    public async Task Keys_and_notices_that_others_send_are_bounded_checked_and_forgotten_as_section_14_says()
    {
        JsonElement r = await ServedPage.EvaluateAsync(Script);
        int Number(string name) => r.GetProperty(name).GetInt32();
        string Text(string name) => r.GetProperty(name).GetString() ?? "";

        // 70 keys for groups we do not know (anyone may send them): at most 64 kept, the known group's key untouched.
        Assert.Equal(64, Number("unknownGroupKeys"));
        Assert.True(r.GetProperty("knownKeyKept").GetBoolean());
        // 6 keys from one device for one group: the newest 4.
        Assert.Equal(4, Number("keysFromOneDevice"));
        Assert.Equal("3,4,5,6", Text("keptKeyIds"));
        Assert.False(r.GetProperty("nonMemberKeyKept").GetBoolean());
        Assert.False(r.GetProperty("sameKeyTwice").GetBoolean());
        // Notices: names not as the server makes them, or an actor who is not the row's sender, are refused.
        Assert.Equal("a group notice that does not hold together", Text("spacedName"));
        Assert.Equal("a group notice that does not hold together", Text("actorNotSender"));
        Assert.Equal("a group notice that does not hold together", Text("badGroupId"));
        Assert.Equal("a group notice that is not valid JSON", Text("notJson"));
        // A message from someone the membership does not hold is refused unread; a member's opens.
        Assert.Equal("NotAMember", Text("fromNonMember"));
        Assert.Equal("hello team", Text("fromMember"));
        Assert.Equal("NoSenderKey", Text("unknownKey"));
        Assert.Equal("UnknownGroup", Text("unknownGroup"));
        // Removed: bob's keys go, and the version moves on; our own key is stale for the next send.
        Assert.Equal(0, Number("bobKeysAfterRemoval"));
        Assert.True(r.GetProperty("staleAfterRemoval").GetBoolean());
        Assert.Equal("NotAMember", Text("bobAfterRemoval"));
        // Removed ourselves: nothing of the group is kept.
        Assert.False(r.GetProperty("groupKeptAfterWeLeft").GetBoolean());
    }

    /// <summary>
    /// A server making up groups fills no more than the page keeps (lowered here to 3): a notice or a
    /// description of a fourth is refused and said, and the groups kept are untouched.
    /// </summary>
    [Fact]
    public async Task Groups_past_the_bound_are_refused()
    {
        JsonElement r = await ServedPage.EvaluateAsync("""
            async () => {
              const b = await import('/js/bytes.js');
              const { E2eGroups } = await import('/js/e2e/groups.js');
              const device = { s: { user: 'webby', deviceId: 'w1' }, serial(f) { return f(); }, async save() {} };
              const groups = new E2eGroups(device);
              E2eGroups.maxGroups = 3;
              const id = i => i.toString(16).padStart(32, '0');
              for (let i = 0; i < 3; i++) groups.apply({ group: `g${i}`, groupId: id(i), version: 1, members: ['mallory', 'webby'], admins: ['mallory'] });
              const notice = await groups.receiveNotice({ from: 'mallory', fromDevice: 'm1',
                bodyBytes: b.utf8(JSON.stringify({ group: 'g3', groupId: id(3), version: 1, change: 'created', actor: 'mallory', subjects: ['mallory', 'webby'], admins: ['mallory'] })) });
              const described = groups.apply({ group: 'g4', groupId: id(4), version: 1, members: ['mallory', 'webby'], admins: ['mallory'] });
              const kept = Object.values(device.s.groups).map(g => g.name).sort().join(',');
              E2eGroups.maxGroups = 10000;
              return [notice.error ?? 'kept', String(described), kept];
            }
            """);
        string[] result = [.. r.EnumerateArray().Select(e => e.GetString()!)];
        Assert.Contains("the most it keeps", result[0]);
        Assert.Equal(["null", "g0,g1,g2"], result[1..]);
    }

    [Fact]
    public async Task Login_membership_does_not_judge_older_rows_an_admin_who_removes_itself_is_out_and_concurrent_sends_take_distinct_keys()
    {
        JsonElement r = await ServedPage.EvaluateAsync(SendScript);
        string Text(string name) => r.GetProperty(name).GetString() ?? "";

        // Learned at login (bob already gone by then): bob's message from before is still read, as parley chat reads it.
        Assert.Equal("bye all", Text("departedMemberRead"));
        Assert.Equal("MalformedData", Text("nonCanonicalInfo"));
        Assert.Equal("NotAMember", Text("nonMemberAfterInOrderNotice"));
        Assert.Equal("connection_lost in time", Text("abandoned"));
        Assert.Equal("dropped", Text("adminRemovedItself"));
        // Two sends at once on the device's real queue: iterations 0 and 1 of one key, both readable by a member.
        Assert.Equal("0,1", Text("iterations"));
        Assert.Equal("one,two", Text("memberReads"));
        Assert.Equal("1", Text("keysMade"));
        // A member reached on no device is not counted as holding the key: the next send tries again.
        Assert.Equal("alice,carol|carol", Text("distributedTo"));
        // A removal makes the next send rotate, and the new key goes to the members left, never to alice.
        Assert.Equal("true", Text("rotatedAfterRemoval"));
        Assert.Equal("carol", Text("distributedAfterRemoval"));
    }

    [Fact]
    public async Task Invitation_notices_are_bounded_and_an_invitation_the_server_no_longer_has_leaves_the_list()
    {
        JsonElement r = await ServedPage.EvaluateAsync(InvitationScript);
        // 60 notices from strangers: at most 50 shown, and the burst asks group_list again once (twice on a
        // machine slow enough to split it across the 500 ms gathering), never once per notice.
        Assert.Equal(50, r.GetProperty("shown").GetInt32());
        Assert.InRange(r.GetProperty("listRequests").GetInt32(), 1, 2);
        // After that refresh the server's list is the truth: what it no longer has is gone.
        Assert.Equal("fresh", r.GetProperty("afterRefresh").GetString());
        // An answer refused with not_invited (answered elsewhere, withdrawn, expired) removes the row; rate_limited keeps it.
        Assert.Equal("not_invited:gone", r.GetProperty("declineNotInvited").GetString());
        Assert.Equal("rate_limited:kept", r.GetProperty("declineRateLimited").GetString());
        // An invitation to a group this device is in already is not shown.
        Assert.False(r.GetProperty("memberGroupShown").GetBoolean());
    }

    /// <summary>
    /// Sender key requests (§14.3) as a hostile member or stranger would send them: only a member asking
    /// for the key in use is answered, each device once, at most 30 a minute, to the asking device alone;
    /// made-up key ids from one device get one request back, many devices at most 10 a minute.
    /// </summary>
    [Fact]
    public async Task Key_requests_are_answered_only_to_members_for_the_key_in_use_and_both_directions_are_paced()
    {
        JsonElement r = await ServedPage.EvaluateAsync(KeyRequestScript);
        string Text(string name) => r.GetProperty(name).GetString() ?? "";

        Assert.Equal("false", Text("stranger"));
        Assert.Equal("false", Text("otherKeyId"));
        Assert.Equal("true,false", Text("memberTwice"));
        // 1 + 29 more devices of bob within the minute (30 a minute), each answered once, to itself alone, with the key in use now.
        Assert.Equal("30", Text("queuedAnswers"));
        Assert.Equal("30 sent, 30 devices, 30 with key in use at iteration 1", Text("answers"));
        Assert.Equal("false", Text("removedMember"));
        Assert.Equal("false", Text("membershipUnsure"));
        // One device making up key ids is asked once; many devices get 10 requests in the first minute, one more 6 s later.
        Assert.Equal("asked,askedBefore,askedBefore", Text("oneDeviceMadeUpIds"));
        Assert.Equal("10", Text("asksFirstMinute"));
        Assert.Equal("1", Text("asksAfterSixSeconds"));
        Assert.Equal("11 sent to 11 devices", Text("asks"));
        // Cut off by a lost connection, the requests are put back for the next one.
        Assert.Equal("connection_lost, 3 waiting", Text("afterLostConnection"));
    }

    /// <summary>
    /// Added to a group by a notice, the page knows only the names in it until it asks the server, so
    /// its members' keys are kept however many (not counted with the 64 for unknown groups); and a
    /// flood of keys from senders no member list names (4,100, past the 4,096 kept in all) pushes out
    /// only its own kind, never the key of a member a list names.
    /// </summary>
    [Fact]
    public async Task Keys_from_senders_no_member_list_names_never_push_out_a_members_key()
    {
        JsonElement r = await ServedPage.EvaluateAsync("""
            async () => {
              const b = await import('/js/bytes.js');
              const sk = await import('/js/e2e/senderkey.js');
              const { E2eGroups } = await import('/js/e2e/groups.js');
              const device = { s: { user: 'webby', deviceId: 'w1' }, serial(f) { return f(); }, async save() {} };
              const groups = new E2eGroups(device);
              const team = '0123456789abcdef0123456789abcdef', other = 'fedcba9876543210fedcba9876543210', third = '00000000000000000000000000000003';
              groups.apply({ group: 'other', groupId: other, version: 2, members: ['alice', 'webby'], admins: ['alice'] });
              await groups.takeSenderKey('alice', 'a1', sk.distribution(await sk.generate(b.fromHex(other))));
              await groups.receiveNotice({ from: 'carol', fromDevice: 'c1', bodyBytes: b.utf8(JSON.stringify({ group: 'team', groupId: team, version: 5, change: 'added', actor: 'carol', subjects: ['webby'], admins: ['carol'] })) });
              // One real key, its bytes reused with other key ids: the flood needs no fresh signing keys.
              const template = sk.distribution(await sk.generate(b.fromHex(team)));
              const forGroup = (id, keyId) => { const d = template.slice(); d.set(b.fromHex(id), 1); d.set(b.u32(keyId), 17); return d; };
              for (let i = 0; i < 100; i++) await groups.takeSenderKey('member' + i, 'd1', forGroup(team, i));
              const kept = id => Object.keys(device.s.senderKeys).filter(k => k.startsWith(id + '/')).length;
              // Keys from senders the notice did not name: the server's member list is asked for, once for all of them.
              const out = { teamAfterJoin: kept(team), memberListAsked: groups.requests.takeMemberLists().join(',') === team };
              await groups.learnAtLogin({ group: 'third', groupId: third, version: 2, members: ['alice', 'webby'], admins: ['alice'] });
              for (let i = 0; i < 4100; i++) await groups.takeSenderKey('stranger' + i, 'd1', forGroup(third, i));
              out.alicesKey = kept(other);
              out.total = Object.values(device.s.senderKeys).reduce((n, e) => n + e.keys.length, 0);
              // A member the list names, from ever new devices: the sender holding most gives up its own.
              groups.s.groups[other].members.push('carol');
              await groups.takeSenderKey('carol', 'c1', forGroup(other, 1 << 30));
              for (let i = 0; i < 4100; i++) await groups.takeSenderKey('alice', 'd' + (i >> 2), forGroup(other, i));
              out.carolsKey = Object.keys(device.s.senderKeys).filter(k => k.startsWith(other + '/carol/')).length;
              // The store full of vouched keys: a key for the group joined by a notice is still kept.
              await groups.takeSenderKey('dave', 'v1', forGroup(team, 1 << 29));
              out.davesKey = Object.keys(device.s.senderKeys).filter(k => k.startsWith(team + '/dave/')).length;
              return out;
            }
            """);
        Assert.Equal(100, r.GetProperty("teamAfterJoin").GetInt32());
        Assert.Equal(1, r.GetProperty("alicesKey").GetInt32());
        Assert.Equal(4096, r.GetProperty("total").GetInt32());
        Assert.Equal(1, r.GetProperty("carolsKey").GetInt32());
        Assert.Equal(1, r.GetProperty("davesKey").GetInt32());
        Assert.True(r.GetProperty("memberListAsked").GetBoolean());
    }

    private const string KeyRequestScript = """
        async () => {
          const b = await import('/js/bytes.js');
          const sk = await import('/js/e2e/senderkey.js');
          const { E2eGroups, encodeKeyRequest, decodeKeyRequest } = await import('/js/e2e/groups.js');
          const out = {};
          const team = '0123456789abcdef0123456789abcdef';
          let now = 0;
          const device = {
            s: { user: 'webby', deviceId: 'w1' }, lock: Promise.resolve(), toDevice: [],
            serial(fn) { const p = this.lock.then(fn); this.lock = p.catch(() => {}); return p; },
            async save() {},
            async sendPayload() { return { devices: 1 }; },
            async sendPayloadToDevice(messenger, user, deviceId, payload) { this.toDevice.push({ user, deviceId, payload: payload.slice() }); return { devices: 1, added: [] }; },
          };
          let members = ['alice', 'bob', 'webby'], version = 3;
          const info = () => ({ group: 'team', groupId: team, version, members, admins: ['webby'] });
          const messenger = { async groupMembers() { return info(); }, async groupSend(group) { return { group, recipients: members.length }; } };
          const groups = new E2eGroups(device, () => now);
          groups.apply(info());
          await groups.sendText(messenger, 'team', 'hello');
          const keyId = groups.s.groups[team].own.keyId;
          const ask = (from, dev, id) => groups.takeGroupPayload(from, dev, encodeKeyRequest(b.fromHex(team), id, '00'.repeat(16)));
          out.stranger = String(await ask('mallory', 'm1', keyId));
          out.otherKeyId = String(await ask('bob', 'b1', (keyId + 1) >>> 0));
          out.memberTwice = `${await ask('bob', 'b1', keyId)},${await ask('bob', 'b1', keyId)}`;
          // Not while this device may have missed a change: its next message makes a new key for everyone.
          groups.s.groups[team].membersKnown = false;
          out.membershipUnsure = String(await ask('bob', 'b-unsure', keyId));
          groups.s.groups[team].membersKnown = true;
          let queued = 1;
          for (let i = 2; i <= 40; i++) if (await ask('bob', 'b' + i, keyId)) queued++;
          out.queuedAnswers = String(queued);
          await groups.sendKeyRequests(messenger);
          const answers = device.toDevice.filter(t => t.payload[0] === 5);
          const inUse = answers.map(a => sk.fromDistribution(a.payload.subarray(17))).filter(k => k.keyId === keyId && k.iteration === 1);
          out.answers = `${answers.length} sent, ${new Set(answers.map(a => a.user + '/' + a.deviceId)).size} devices, ${inUse.length} with key in use at iteration 1`;
          // bob is removed: a later request from a device of his is refused on arrival.
          now += 10 * 60 * 1000;
          members = ['alice', 'webby']; version = 4;
          await groups.receiveNotice({ from: 'webby', fromDevice: 'w2', bodyBytes: b.utf8(JSON.stringify({ group: 'team', groupId: team, version: 4, change: 'removed', actor: 'webby', subjects: ['bob'], admins: ['webby'] })) });
          out.removedMember = String(await ask('bob', 'b99', keyId));
          // Keys this device never got: one device is asked once whatever the key ids it makes up; many
          // devices at most 10 a minute.
          device.toDevice.length = 0;
          const made = [];
          for (let i = 0; i < 18; i++) made.push(await sk.generate(b.fromHex(team)));
          const receive = async (key, dev) => (await groups.receiveMessage({ from: 'alice', fromDevice: dev, bodyBytes: (await sk.encrypt(key, b.concat(Uint8Array.of(1), new Uint8Array(16), b.utf8('x')))).message })).keyAsk;
          out.oneDeviceMadeUpIds = [await receive(made[0], 'a1'), await receive(made[1], 'a1'), await receive(made[2], 'a1')].join(',');
          let first = 1;
          for (let i = 3; i < 17; i++) if (await receive(made[i], 'a' + i) === 'asked') first++;
          out.asksFirstMinute = String(first);
          now += 6000;
          out.asksAfterSixSeconds = String((await receive(made[17], 'a17') === 'asked' ? 1 : 0) + (await receive(made[5], 'a1') === 'asked' ? 1 : 0));
          await groups.sendKeyRequests(messenger);
          const asks = device.toDevice.map(t => ({ to: t.deviceId, request: decodeKeyRequest(t.payload) })).filter(t => t.request?.groupId === team);
          out.asks = `${asks.length} sent to ${new Set(asks.map(a => a.to)).size} devices`;
          // A lost connection: what was not sent waits for the next one.
          for (let i = 0; i < 3; i++) await receive(made[i], 'late' + i);
          now += 60000;
          for (let i = 0; i < 3; i++) await receive(made[i], 'late' + i);
          const lost = { ...device, async sendPayloadToDevice() { throw Object.assign(new Error('lost'), { code: 'connection_lost' }); } };
          const cut = new E2eGroups(lost, () => now);
          cut.requests = groups.requests;
          let thrown = 'nothing';
          try { await cut.sendKeyRequests(messenger); } catch (e) { thrown = e.code; }
          out.afterLostConnection = `${thrown}, ${groups.requests.takeAsks().length} waiting`;
          return out;
        }
        """;

    private const string InvitationScript = """
        async () => {
          const b = await import('/js/bytes.js');
          const { GroupView } = await import('/js/group-view.js');
          const out = {};
          let listRequests = 0;
          const fail = code => Object.assign(new Error(code), { code });
          let declineError = 'not_invited';
          const messenger = {
            async groupList() { listRequests++; return { groups: [], invitations: [{ group: 'fresh', groupId: 'f'.repeat(32), invitedBy: 'alice' }], allowed: [] }; },
            async groupDecline() { throw fail(declineError); },
          };
          const app = { user: 'webby', messenger, contacts: new Map(), device: { s: { deviceId: 'w1' } } };
          const device = { s: { user: 'webby', deviceId: 'w1' }, lock: Promise.resolve(), serial(fn) { const p = this.lock.then(fn); this.lock = p.catch(() => {}); return p; }, async save() {} };
          const view = new GroupView({ app, addMessage: (c, e) => c.messages.push(e), contact: n => { let c = app.contacts.get(n); if (!c) app.contacts.set(n, c = { name: n, messages: [] }); return c; },
            sanitize: t => String(t), banner() {}, $: id => document.getElementById(id), act: a => a(), open() {} });
          view.attach(device);
          view.e2e.apply({ group: 'mine', groupId: 'a'.repeat(32), version: 1, members: ['webby', 'alice'], admins: ['alice'] });
          const invited = (i, group) => ({ contentType: 'application/vnd.parley.group-changed+json', from: `stranger${i}`, fromDevice: 'x', messageId: i,
            body: b.toBase64(b.utf8(JSON.stringify({ group, groupId: i.toString(16).padStart(32, '0'), version: 1, change: 'invited', actor: `stranger${i}`, subjects: ['webby'], admins: [] }))) });
          const member = invited(99, 'mine');
          await view.receive({ ...member, bodyBytes: b.fromBase64(member.body) });
          out.memberGroupShown = view.invitations.size !== 0;
          for (let i = 1; i <= 60; i++) await view.receive({ ...invited(i, `g${i}`), bodyBytes: b.fromBase64(invited(i, `g${i}`).body) });
          out.shown = view.invitations.size;
          await new Promise(resolve => setTimeout(resolve, 1500));
          out.listRequests = listRequests;
          out.afterRefresh = [...view.invitations.values()].map(i => i.group).join(',');
          const fresh = [...view.invitations.values()][0];
          declineError = 'rate_limited';
          out.declineRateLimited = await view.decline(fresh).then(() => 'accepted', e => `${e.code}:${view.invitations.has(fresh.groupId) ? 'kept' : 'gone'}`);
          declineError = 'not_invited';
          out.declineNotInvited = await view.decline(fresh).then(() => 'accepted', e => `${e.code}:${view.invitations.has(fresh.groupId) ? 'kept' : 'gone'}`);
          return out;
        }
        """;

    private const string SendScript = """
        async () => {
          const b = await import('/js/bytes.js');
          const sk = await import('/js/e2e/senderkey.js');
          const { E2eGroups } = await import('/js/e2e/groups.js');
          const out = {};
          const team = '0123456789abcdef0123456789abcdef';
          const device = {
            s: { user: 'webby', deviceId: 'w1' }, lock: Promise.resolve(), sent: [],
            serial(fn) { const p = this.lock.then(fn); this.lock = p.catch(() => {}); return p; },
            async save() {},
            // The pairwise layer: carol has no device with keys yet.
            async sendPayload(messenger, to, payload) { this.sent.push({ to, payload: payload.slice() }); return { devices: to === 'carol' ? 0 : 1 }; },
          };
          let members = ['alice', 'bob', 'webby'], version = 6;
          const info = () => ({ group: 'team', groupId: team, version, members, admins: ['webby'] });
          const messenger = {
            sends: [],
            async groupMembers() { return info(); },
            async groupSend(group, v, body) { if (v !== version) throw Object.assign(new Error('stale'), { code: 'stale_group_version' }); this.sends.push(body); return { group, recipients: members.length }; },
          };
          // Login: the server's membership (v6, bob gone) for a group this device did not know.
          const groups = new E2eGroups(device);
          members = ['alice', 'webby'];
          await groups.learnAtLogin(info());
          const bob = await sk.generate(b.fromHex(team));
          await groups.takeSenderKey('bob', 'b1', sk.distribution(bob));
          const byeAll = await sk.encrypt(bob, b.concat(Uint8Array.of(1), new Uint8Array(16), b.utf8('bye all')));
          out.departedMemberRead = (await groups.receiveMessage({ from: 'bob', fromDevice: 'b1', bodyBytes: byeAll.message })).text ?? 'refused';
          try { groups.apply({ ...info(), members: ['alice', 'We Bby'] }); out.nonCanonicalInfo = 'accepted'; } catch (e) { out.nonCanonicalInfo = e.code; }
          // Until a notice follows the login's membership in order, senders are not judged; from then on they are.
          const mallory = await sk.generate(b.fromHex(team));
          await groups.takeSenderKey('mallory', 'm1', sk.distribution(mallory));
          await groups.receiveNotice({ from: 'alice', fromDevice: 'a1', bodyBytes: b.utf8(JSON.stringify({ group: 'team', groupId: team, version: 7, change: 'added', actor: 'alice', subjects: ['carol'], admins: ['webby'] })) });
          const sneaky = await sk.encrypt(mallory, b.concat(Uint8Array.of(1), new Uint8Array(16), b.utf8('let me in')));
          out.nonMemberAfterInOrderNotice = (await groups.receiveMessage({ from: 'mallory', fromDevice: 'm1', bodyBytes: sneaky.message })).error ?? 'read';
          // A lost connection fails the requests still waiting at once, not after their 30 s.
          const { Messenger } = await import('/js/messenger.js');
          const waiting = new Messenger({ async send() {}, onRecord: null });
          const started = Date.now();
          const pendingMembers = waiting.groupMembers('team').catch(e => e.code);
          waiting.abandon('test');
          out.abandoned = `${await pendingMembers} in ${Date.now() - started < 5000 ? 'time' : 'too long'}`;
          // Sending: alice and carol (no device yet) are members.
          members = ['alice', 'carol', 'webby']; version = 7;
          groups.s.groups[team].membersKnown = false;
          await Promise.all([groups.sendText(messenger, 'team', 'one'), groups.sendText(messenger, 'team', 'two')]);
          const parsed = messenger.sends.map(m => sk.parseMessage(m));
          out.iterations = parsed.map(p => p.iteration).sort().join(',');
          out.keysMade = String(new Set(parsed.map(p => p.keyId)).size);
          const toAlice = device.sent.filter(s => s.to === 'alice');
          let aliceKey = sk.fromDistribution(toAlice[0].payload.subarray(17));
          const reads = [];
          for (const m of messenger.sends) { const o = await sk.decrypt(aliceKey, m); aliceKey = o.key; reads.push(b.fromUtf8(o.plaintext.subarray(17))); }
          out.memberReads = reads.sort().join(',');
          const first = device.sent.map(s => s.to);
          device.sent.length = 0;
          await groups.sendText(messenger, 'team', 'three');
          out.distributedTo = [...new Set(first)].filter(u => u !== 'webby').sort().join(',') + '|' + device.sent.map(s => s.to).filter(u => u !== 'webby').join(',');
          // alice is removed by another admin: the notice makes our key stale.
          device.sent.length = 0;
          const keyBefore = groups.s.groups[team].own.keyId;
          members = ['carol', 'webby']; version = 8;
          await groups.receiveNotice({ from: 'webby', fromDevice: 'w2', bodyBytes: b.utf8(JSON.stringify({ group: 'team', groupId: team, version: 8, change: 'removed', actor: 'webby', subjects: ['alice'], admins: ['webby'] })) });
          await groups.sendText(messenger, 'team', 'four');
          out.rotatedAfterRemoval = String(groups.s.groups[team].own.keyId !== keyBefore);
          out.distributedAfterRemoval = device.sent.map(s => s.to).filter(u => u !== 'webby').join(',');
          // An admin that removes itself: the answer leaves it out, and the group is gone here.
          out.adminRemovedItself = groups.apply({ ...info(), members: ['carol'] }) === null && !groups.s.groups[team] ? 'dropped' : 'kept';
          return out;
        }
        """;

    private const string Script = """
        async () => {
          const b = await import('/js/bytes.js');
          const sk = await import('/js/e2e/senderkey.js');
          const { E2eGroups } = await import('/js/e2e/groups.js');
          const device = { s: { user: 'webby', deviceId: 'w1' }, serial(f) { return f(); }, async save() {} };
          const groups = new E2eGroups(device);
          const out = {};
          const gid = hex => b.fromHex(hex);
          const team = '0123456789abcdef0123456789abcdef';
          groups.apply({ group: 'team', groupId: team, version: 3, members: ['alice', 'bob', 'webby'], admins: ['alice'] });
          const alice = await sk.generate(gid(team));
          await groups.takeSenderKey('alice', 'a1', sk.distribution(alice));
          // A stranger's flood of keys for made-up groups.
          for (let i = 0; i < 70; i++) {
            const fake = await sk.generate(gid(i.toString(16).padStart(32, '0')));
            await groups.takeSenderKey('mallory', 'm1', sk.distribution(fake));
          }
          const count = known => Object.entries(device.s.senderKeys).filter(([k]) => !!device.s.groups[k.split('/')[0]] === known).reduce((n, [, e]) => n + e.keys.length, 0);
          out.unknownGroupKeys = count(false);
          out.knownKeyKept = !!device.s.senderKeys[`${team}/alice/a1`];
          // One device rotating six times.
          let last;
          for (let i = 1; i <= 6; i++) { last = await sk.generate(gid(team), { keyId: i }); await groups.takeSenderKey('bob', 'b1', sk.distribution(last)); }
          out.keysFromOneDevice = device.s.senderKeys[`${team}/bob/b1`].keys.length;
          out.keptKeyIds = device.s.senderKeys[`${team}/bob/b1`].keys.map(k => k.keyId).join(',');
          out.nonMemberKeyKept = await groups.takeSenderKey('mallory', 'm1', sk.distribution(await sk.generate(gid(team))));
          out.sameKeyTwice = await groups.takeSenderKey('bob', 'b1', sk.distribution(last));
          // Notices.
          const notice = (from, body) => groups.receiveNotice({ from, fromDevice: 'x', bodyBytes: b.utf8(typeof body === 'string' ? body : JSON.stringify(body)) });
          const change = { group: 'team', groupId: team, version: 4, change: 'added', actor: 'alice', subjects: ['carol'], admins: ['alice'] };
          out.spacedName = (await notice('alice', { ...change, subjects: ["x' to join, or 'group allow mallory"] })).error;
          out.actorNotSender = (await notice('mallory', change)).error;
          out.badGroupId = (await notice('alice', { ...change, groupId: 'not hex' })).error;
          out.notJson = (await notice('alice', '{')).error;
          // Messages.
          const message = async (from, fromDevice, key, text) => {
            const sent = await sk.encrypt(key, b.concat(Uint8Array.of(1), new Uint8Array(16), b.utf8(text)));
            return groups.receiveMessage({ from, fromDevice, bodyBytes: sent.message });
          };
          out.fromNonMember = (await message('mallory', 'm1', await sk.generate(gid(team)), 'let me in')).error;
          out.fromMember = (await message('alice', 'a1', alice, 'hello team')).text;
          out.unknownKey = (await message('alice', 'a1', await sk.generate(gid(team)), 'new key, not handed over')).error;
          out.unknownGroup = (await message('alice', 'a1', await sk.generate(gid('ff'.repeat(16))), 'elsewhere')).error;
          // Bob is removed.
          device.s.groups[team].stale = false;
          await notice('alice', { ...change, change: 'removed', subjects: ['bob'] });
          out.bobKeysAfterRemoval = Object.keys(device.s.senderKeys).filter(k => k.startsWith(`${team}/bob/`)).length;
          out.staleAfterRemoval = device.s.groups[team].stale;
          out.bobAfterRemoval = (await message('bob', 'b1', last, 'still here?')).error;
          await notice('alice', { ...change, version: 5, change: 'removed', subjects: ['webby'] });
          out.groupKeptAfterWeLeft = !!device.s.groups[team] || Object.keys(device.s.senderKeys).some(k => k.startsWith(team));
          return out;
        }
        """;
}
