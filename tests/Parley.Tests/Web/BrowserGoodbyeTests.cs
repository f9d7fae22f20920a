using System.Collections.Concurrent;
using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// Leaving the page says goodbye: its last record is a close_notify alert (sealed ahead, since
/// pagehide cannot wait for WebCrypto), and the server takes it as a clean end, not a forgery.
/// </summary>
public partial class BrowserChatTests
{
    [Fact]
    public async Task Leaving_the_page_sends_close_notify_that_the_server_accepts()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, _, int port, int webPort) = await StartServerAsync(temp);
        await using (server)
        {
            await using Browser browser = await Browser.LaunchAsync();
            await using IBrowserContext context = await browser.NewContextAsync();
            IPage page = await context.NewPageAsync();
            ConcurrentQueue<byte[]> fromPage = new();
            await page.RouteWebSocketAsync("**/ws", route =>
            {
                IWebSocketRoute toServer = route.ConnectToServer();
                route.OnMessage(frame =>
                {
                    fromPage.Enqueue(frame.Binary!);
                    toServer.Send(frame.Binary!);
                });
                toServer.OnMessage(frame => route.Send(frame.Binary!));
            });
            await LogInAsWebbyAsync(page, webPort);
            await page.FillAsync("#new-contact", "somebody");
            await page.ClickAsync("#new-contact-form button");
            await Expect(page.Locator("#peer-status")).ToHaveTextAsync("offline");

            // The page's own pagehide handler, run as the browser runs it when the tab goes (a real
            // navigation tears the page down before the test's WebSocket route can see its last frame).
            await page.EvaluateAsync("() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }))");
            // The server's log lines go to stderr: look for the end of webby's connection there.
            using (CancellationTokenSource deadline = new(s_wait))
            {
                while (!server.Stderr.Contains("webby disconnected", StringComparison.Ordinal))
                {
                    await Task.Delay(50, deadline.Token);
                }
            }
            byte[] last = fromPage.Last();
            // u32 length 19 || type 0x15 (alert) || 2 sealed bytes (close_notify) || tag (16).
            Assert.Equal(23, last.Length);
            Assert.Equal([0, 0, 0, 19, 0x15], last[..5]);
            await page.CloseAsync();
        }
        Assert.DoesNotContain("ended:", server.Stderr + server.Stdout, StringComparison.Ordinal);
    }
}
