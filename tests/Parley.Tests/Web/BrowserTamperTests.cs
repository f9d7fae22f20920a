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
}
