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
}
