using System.Text.Json;

namespace Parley.Tests.Web;

/// <summary>
/// The page's end-to-end device (web/js/e2e/device.js) against a hostile server played in the page
/// itself: bundles answered for another user or for devices not asked for make no session and no
/// pin; a device that appears after first contact is announced, not added in silence; a first
/// message delivered a second time never starts its session again (PROTOCOL.md §13.10).
/// </summary>
public class BrowserDeviceStateTests
{
    [Fact]
    public async Task A_hostile_servers_bundles_and_replays_add_no_device_in_silence_and_roll_no_session_back()
    {
        JsonElement result = await ServedPage.EvaluateAsync("""
            async () => {
              const { E2eDevice, CONTENT_TYPE } = await import('/js/e2e/device.js');
              const p = await import('/js/e2e/payload.js');
              const b = await import('/js/bytes.js');
              const out = {};
              const code = async f => { try { await f(); return 'accepted'; } catch (e) { return e.code ?? e.message; } };
              // Each device publishes to a fake server that keeps its keys; bundles are made from them.
              const published = {};
              const publisher = who => ({ async publishKeys(keys) { published[who] = keys; return { oneTimePrekeys: 20, oneTimeKemPrekeys: 5 }; } });
              const bundle = (who, deviceId) => ({
                deviceId, identityKey: published[who].identityKey, signedPrekey: published[who].signedPrekey,
                oneTimePrekey: null, kemPrekey: published[who].lastResortKemPrekey, kemPrekeyIsLastResort: true,
              });
              const alice = await E2eDevice.open('device:test:alice', 'alice', 'a1');
              const bob = await E2eDevice.open('device:test:bob', 'bob', 'b1');
              const mallory = await E2eDevice.open('device:test:mallory', 'mallory', 'm1');
              for (const [who, d] of [['alice', alice], ['bob', bob], ['mallory', mallory]]) await d.publishOrReplenish(publisher(who));
              const sent = [];
              const server = answer => ({
                async fetchBundles(user, only) { return answer(user, only); },
                async sendToDevice(user, device, contentType, envelope) { sent.push({ user, device, envelope }); return { status: 'delivered', devices: null }; },
              });
              const pins = d => Object.keys(d.s.pinned).sort().join(',');

              // Asked for carol, the server answers with bob's devices: refused, nothing pinned.
              out.another_user = await code(() => alice.sendText(server(() => ({ user: 'bob', devices: [bundle('bob', 'b1')] })), 'carol', 'hi carol'));
              out.pins_after_another_user = pins(alice);
              // First contact with bob: his one device.
              const first = await alice.sendText(server(user => (user === 'bob' ? { user, devices: [bundle('bob', 'b1')] } : { user, devices: [] })), 'bob', 'hi bob');
              out.first_contact = `${first.devices} device, added ${first.added.length}`;
              // Asked for bob's device b7 alone, the server adds an unasked one: only b7 is taken.
              await alice.ensureSessions(server(user => ({ user, devices: [bundle('bob', 'b7'), bundle('mallory', 'b8')] })), 'bob', ['b7']);
              out.pins_after_only = pins(alice);
              // A fetch of all of bob's devices that finds one more: announced as new with the send that reaches it.
              alice.s.refetch.bob = true;
              const later = await alice.sendText(server(user => (user === 'bob' ? { user, devices: [bundle('bob', 'b1'), bundle('bob', 'b7'), bundle('mallory', 'b9')] } : { user, devices: [] })), 'bob', 'again');
              out.added_later = later.added.map(d => `${d.user}/${d.deviceId}`).sort().join(',');

              // bob starts a session with alice (no one-time prekey: the last-resort KEM key), then the
              // server delivers that first envelope again under a new id.
              sent.length = 0;
              await bob.sendText(server(user => (user === 'alice' ? { user, devices: [bundle('alice', 'a1')] } : { user, devices: [] })), 'alice', 'first from bob');
              const envelope = sent.find(s => s.user === 'alice').envelope;
              const row = body => ({ from: 'bob', fromDevice: 'b1', contentType: CONTENT_TYPE, bodyBytes: body });
              const opened = await alice.open(row(envelope));
              out.first_read = opened.text ?? opened.error;
              const replayed = await alice.open(row(envelope));
              out.replayed = replayed.error ?? `read again: ${replayed.text}`;
              sent.length = 0;
              await bob.sendText(server(user => ({ user, devices: [] })), 'alice', 'second from bob');
              const second = await alice.open(row(sent.find(s => s.user === 'alice').envelope));
              out.second_read = second.text ?? second.error;
              return out;
            }
            """);
        Assert.Equal("MalformedData", result.GetProperty("another_user").GetString());
        Assert.Equal("", result.GetProperty("pins_after_another_user").GetString());
        Assert.Equal("1 device, added 0", result.GetProperty("first_contact").GetString());
        Assert.Equal("bob/b1,bob/b7", result.GetProperty("pins_after_only").GetString());
        Assert.Equal("bob/b9", result.GetProperty("added_later").GetString());
        Assert.Equal("first from bob", result.GetProperty("first_read").GetString());
        Assert.Equal("DuplicateMessage", result.GetProperty("replayed").GetString());
        Assert.Equal("second from bob", result.GetProperty("second_read").GetString());
    }

    /// <summary>
    /// Anyone can start sessions with us from as many devices as they have, each holding up to 2,000
    /// skipped keys, and the device record is sealed whole at every save: past the bound over all
    /// sessions (lowered here to 50), the session holding most loses its oldest keys, and only those.
    /// </summary>
    [Fact]
    public async Task Skipped_keys_over_all_sessions_are_bounded_the_largest_sessions_oldest_going_first()
    {
        JsonElement result = await ServedPage.EvaluateAsync("async () => {" + PageScripts.ThreeDevicesWritingToAlice + """
              const from = async (device, user, letter) => {
                const sent = [];
                for (let i = 0; i <= 40; i++) await device.sendText(toAlice(sent), 'alice', `${letter}${i}`);
                return body => alice.open({ from: user, fromDevice: `${letter}1`, contentType: CONTENT_TYPE, bodyBytes: sent[body] });
              };
              const readBob = await from(bob, 'bob', 'b'), readCarol = await from(carol, 'carol', 'c');
              E2eDevice.maxSkippedKeysInAll = 50;
              const out = {};
              const held = () => Object.values(alice.s.sessions).map(x => x.sessions[0].skipped.length);
              // Each first message, then each last: 39 keys skipped in each session.
              out.read = [(await readBob(0)).text, (await readBob(40)).text, (await readCarol(0)).text];
              out.afterBob = held();
              out.lastCarol = (await readCarol(40)).text;
              out.afterCarol = held();
              const kept = Object.values(alice.s.sessions).flatMap(x => x.sessions[0].skipped.map(([, mk]) => mk));
              out.keysNonZero = kept.every(mk => mk.some(b => b !== 0));
              const r = async p => { const o = await p; return o.text ?? o.error; };
              out.bobOldest = await r(readBob(1));
              out.bobKeptFirst = await r(readBob(29));
              out.carolOldest = await r(readCarol(1));
              E2eDevice.maxSkippedKeysInAll = 20000;
              return out;
            }
            """);
        Assert.Equal(["b0", "b40", "c0"], result.GetProperty("read").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([39, 0], result.GetProperty("afterBob").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("c40", result.GetProperty("lastCarol").GetString());
        // 78 held, 50 allowed: bob's session (the first of two as large) gives its 28 oldest.
        Assert.Equal([11, 39], result.GetProperty("afterCarol").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(result.GetProperty("keysNonZero").GetBoolean());
        Assert.NotEqual("b1", result.GetProperty("bobOldest").GetString());
        Assert.Equal("b29", result.GetProperty("bobKeptFirst").GetString());
        Assert.Equal("c1", result.GetProperty("carolOldest").GetString());
    }

    /// <summary>
    /// Each peer device's session is a record of its own, written with the device's record in one
    /// transaction: a message from bob seals bob's session and the device, not carol's. Opened again,
    /// the device has both sessions and goes on reading; a device saved by an older page with its
    /// sessions inside moves them out at its next save.
    /// </summary>
    [Fact]
    public async Task A_message_seals_its_own_session_record_and_the_device_only()
    {
        JsonElement result = await ServedPage.EvaluateAsync("async () => {" + PageScripts.SealedRecords + PageScripts.ThreeDevicesWritingToAlice + """
              const store = await import('/js/store.js');
              const sealed = sealedRecords;
              const say = async (device, user, deviceId, text, reader = alice) => {
                const sent = [];
                await device.sendText(toAlice(sent), 'alice', text);
                const opened = await reader.open({ from: user, fromDevice: deviceId, contentType: CONTENT_TYPE, bodyBytes: sent[0] });
                return opened.text ?? opened.error;
              };
              const out = {};
              out.first = [await say(bob, 'bob', 'b1', 'hello from bob'), await say(carol, 'carol', 'c1', 'hello from carol')];
              const before = await sealed();
              out.second = await say(bob, 'bob', 'b1', 'again from bob');
              const after = await sealed();
              out.changed = Object.keys(after).filter(k => k.startsWith('device:test:alice') && before[k] !== after[k]).sort();
              out.aliceRecords = Object.keys(after).filter(k => k.startsWith('device:test:alice')).sort();
              const raw = await store.get('device:test:alice');
              out.inside = [raw.sessions === undefined, (raw.sessionKeys ?? []).sort()];

              const again = await E2eDevice.open('device:test:alice', 'alice', 'a1');
              out.reopened = Object.keys(again.s.sessions).sort();
              out.readAfterReopen = [await say(bob, 'bob', 'b1', 'third from bob', again), await say(carol, 'carol', 'c1', 'second from carol', again)];

              // As an older page saved it: the sessions inside the device's record.
              await store.put('device:test:older', { ...again.s });
              const older = await E2eDevice.open('device:test:older', 'alice', 'a1');
              out.olderSessions = Object.keys(older.s.sessions).sort();
              await older.save();
              const moved = await store.get('device:test:older');
              out.olderMoved = [moved.sessions === undefined, Object.keys(await sealed()).filter(k => k.startsWith('device:test:older:session:')).sort()];
              return out;
            }
            """);
        Assert.Equal(["hello from bob", "hello from carol"], result.GetProperty("first").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("again from bob", result.GetProperty("second").GetString());
        Assert.Equal(["device:test:alice", "device:test:alice:session:bob/b1"], result.GetProperty("changed").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["device:test:alice", "device:test:alice:session:bob/b1", "device:test:alice:session:carol/c1"],
            result.GetProperty("aliceRecords").EnumerateArray().Select(e => e.GetString()));
        JsonElement[] inside = [.. result.GetProperty("inside").EnumerateArray()];
        Assert.True(inside[0].GetBoolean());
        Assert.Equal(["bob/b1", "carol/c1"], inside[1].EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["bob/b1", "carol/c1"], result.GetProperty("reopened").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["third from bob", "second from carol"], result.GetProperty("readAfterReopen").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["bob/b1", "carol/c1"], result.GetProperty("olderSessions").EnumerateArray().Select(e => e.GetString()));
        JsonElement[] moved = [.. result.GetProperty("olderMoved").EnumerateArray()];
        Assert.True(moved[0].GetBoolean());
        Assert.Equal(["device:test:older:session:bob/b1", "device:test:older:session:carol/c1"], moved[1].EnumerateArray().Select(e => e.GetString()));
    }
}
