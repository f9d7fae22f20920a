namespace Parley.Tests.Web;

/// <summary>Pieces of in-page script that several tests' scripts start with (pasted at the top of an async arrow function's body).</summary>
internal static class PageScripts
{
    /// <summary><c>sealedRecords()</c>: every stored record's name and sealed bytes (base64), read straight from IndexedDB.</summary>
    public const string SealedRecords = """
        const sealedRecords = async () => {
          const db = await new Promise((resolve, reject) => { const r = indexedDB.open('parley', 1); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
          return await new Promise((resolve, reject) => {
            const out = {};
            const request = db.transaction('records', 'readonly').objectStore('records').openCursor();
            request.onsuccess = () => {
              const cursor = request.result;
              if (!cursor) { resolve(out); return; }
              if (cursor.value?.sealed) out[cursor.key] = btoa(String.fromCharCode(...new Uint8Array(cursor.value.sealed)));
              cursor.continue();
            };
            request.onerror = () => reject(request.error);
          });
        };
        """;

    /// <summary>
    /// Three page devices, <c>alice</c> (a1), <c>bob</c> (b1) and <c>carol</c> (c1), with their keys
    /// published to a fake directory, and <c>toAlice(sent)</c>: a fake server that hands out alice's
    /// bundle and collects what is sent to her in <c>sent</c>.
    /// </summary>
    public const string ThreeDevicesWritingToAlice = """
        const { E2eDevice, CONTENT_TYPE } = await import('/js/e2e/device.js');
        const published = {};
        const publisher = who => ({ async publishKeys(keys) { published[who] = keys; return { oneTimePrekeys: 20, oneTimeKemPrekeys: 5 }; } });
        const alice = await E2eDevice.open('device:test:alice', 'alice', 'a1');
        const bob = await E2eDevice.open('device:test:bob', 'bob', 'b1');
        const carol = await E2eDevice.open('device:test:carol', 'carol', 'c1');
        for (const [who, d] of [['alice', alice], ['bob', bob], ['carol', carol]]) await d.publishOrReplenish(publisher(who));
        const toAlice = sent => ({
          async fetchBundles(user) {
            return user !== 'alice' ? { user, devices: [] } : { user, devices: [{ deviceId: 'a1', identityKey: published.alice.identityKey,
              signedPrekey: published.alice.signedPrekey, oneTimePrekey: null, kemPrekey: published.alice.lastResortKemPrekey, kemPrekeyIsLastResort: true }] };
          },
          async sendToDevice(user, device, contentType, envelope) { if (user === 'alice') sent.push(envelope); return { status: 'delivered', devices: null }; },
        });
        """;
}
