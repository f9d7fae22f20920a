using Microsoft.Playwright;
using Parley.Server.Web;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// A record changed on the wire between the server and the page (Playwright sits in the middle of
/// the WebSocket) is refused by the page as bad_record_mac: the connection ends, the banner says
/// why, and the page reconnects on its own over a clean connection.
/// </summary>
public class BrowserTamperTests
{
    [Fact]
    public async Task A_tampered_frame_from_the_server_is_refused_and_the_page_reconnects()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 } });
        // The page's alert about the tampered record, and the cut connection, may be logged as warnings.
        server.ExpectWarnings = true;
        await using Browser browser = await Browser.LaunchAsync();
        await using IBrowserContext context = await browser.NewContextAsync(width: 390, height: 800);
        IPage page = await context.NewPageAsync();
        int tamper = 0;
        int tampered = 0;
        int connections = 0;
        await page.RouteWebSocketAsync("**/ws", route =>
        {
            Interlocked.Increment(ref connections);
            IWebSocketRoute toServer = route.ConnectToServer();
            route.OnMessage(frame => toServer.Send(frame.Binary!));
            toServer.OnMessage(frame =>
            {
                byte[] bytes = frame.Binary!;
                // One frame, once: flip the last byte (inside the AEAD tag) of the next server record.
                if (Interlocked.CompareExchange(ref tamper, 0, 1) == 1)
                {
                    bytes = (byte[])bytes.Clone();
                    bytes[^1] ^= 0x01;
                    Interlocked.Increment(ref tampered);
                }
                route.Send(bytes);
            });
        });
        await page.GotoAsync($"http://127.0.0.1:{server.Server.WebPort}/");
        await page.FillAsync("#username", "tamper-target");
        await page.FillAsync("#password", "a long enough passphrase");
        await page.ClickAsync("#login-button");
        await page.ClickAsync("#trust-yes");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("tamper-target");

        // Every text the banner shows is kept: "Connection lost (bad_record_mac)" gives way to the
        // reconnect's own messages within a second, which a test slowed by a busy machine could miss.
        await page.EvaluateAsync(@"() => {
            const banner = document.getElementById('banner');
            window.bannerTexts = [];
            new MutationObserver(() => window.bannerTexts.push(banner.textContent)).observe(banner, { childList: true, characterData: true, subtree: true });
        }");

        // The next record the server sends (its answer to the watch of a new contact) arrives changed.
        Interlocked.Exchange(ref tamper, 1);
        await page.FillAsync("#new-contact", "somebody");
        await page.ClickAsync("#new-contact-form button");
        await page.WaitForFunctionAsync("() => window.bannerTexts.some(text => text.includes('bad_record_mac'))", null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        Assert.Equal(1, Volatile.Read(ref tampered));
        await Assertions.Expect(page.Locator("#banner")).ToBeHiddenAsync(new LocatorAssertionsToBeHiddenOptions { Timeout = 60_000 });
        Assert.True(Volatile.Read(ref connections) >= 2, "the page did not reconnect");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("tamper-target");
    }

    /// <summary>
    /// A stored record that no longer opens (here the device record, replaced by another record's
    /// bytes) stops the login after the history was loaded. Whoever logs in next on that page, as
    /// another user, sees nothing of the first user's conversations, and none is saved as theirs.
    /// </summary>
    [Fact]
    public async Task A_login_that_fails_after_loading_leaves_nothing_of_that_user_to_the_next()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 } });
        await using Browser browser = await Browser.LaunchAsync();
        await using IBrowserContext context = await browser.NewContextAsync();
        IPage page = await context.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{server.Server.WebPort}/");
        await page.FillAsync("#username", "first-user");
        await page.FillAsync("#password", "a long enough passphrase");
        await page.ClickAsync("#login-button");
        await page.ClickAsync("#trust-yes");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("first-user");
        await page.FillAsync("#new-contact", "a-secret-friend");
        await page.ClickAsync("#new-contact-form button");
        await Assertions.Expect(page.Locator("#contacts li[data-user='a-secret-friend']")).ToHaveCountAsync(1);
        // A message to them (refused: there is no such user) is drawn as failed only once the history holding it was saved.
        await page.FillAsync("#message-input", "only for my friend");
        await page.PressAsync("#message-input", "Enter");
        await Assertions.Expect(page.Locator("#messages .message.out .status")).ToHaveAttributeAsync("data-status", "failed");

        // The device record is overwritten with the account record's sealed bytes: it fails to open under its own name.
        await page.EvaluateAsync(@"async () => {
            const fp = window.parley.app.fingerprint;
            const db = await new Promise((resolve, reject) => { const r = indexedDB.open('parley', 1); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
            await new Promise((resolve, reject) => {
              const tx = db.transaction('records', 'readwrite');
              const records = tx.objectStore('records');
              const read = records.get(`account:${fp}:first-user`);
              read.onsuccess = () => records.put(read.result, `device:${fp}:first-user`);
              tx.oncomplete = resolve; tx.onerror = () => reject(tx.error);
            });
        }");
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#login-error")).ToHaveTextAsync(
            "This browser's stored device record does not open: it was changed or moved. Clear this site's data to start afresh on this browser (a new device).",
            new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("#login-view")).ToBeVisibleAsync();

        await page.FillAsync("#username", "second-user");
        await page.FillAsync("#password", "another long passphrase");
        await page.ClickAsync("#login-button");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("second-user");
        await Assertions.Expect(page.Locator("#contacts li")).ToHaveCountAsync(0);
        Assert.False(await page.EvaluateAsync<bool>("() => window.parley.app.contacts.has('a-secret-friend')"));
    }
}
