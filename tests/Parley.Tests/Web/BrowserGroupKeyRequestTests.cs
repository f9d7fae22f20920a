using System.Text.Json;
using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// A member's new device asks for the sender keys it lacks (PROTOCOL.md §14.3), between the page and
/// real <c>parley chat</c> processes, both ways: the page as the new device with parley chat
/// answering, and parley chat on a second home as the new device with the page answering.
/// </summary>
public partial class BrowserChatTests
{
    private const string PageGroups = "window.parley.groups.e2e";

    [Fact]
    public async Task A_second_browser_of_a_member_asks_parley_chat_for_its_key_and_reads_what_follows()
    {
        await using PageOnServer pageOnServer = await PageOnServer.StartAsync();
        IPage first = pageOnServer.Page;
        await LogInAsWebbyAsync(first, pageOnServer.WebPort);
        await using ParleyProcess cli = StartChat(pageOnServer.Temp, "cli", pageOnServer.Port);
        await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
        await cli.WriteLineAsync("group create team webby");
        await first.Locator("#invitations li[data-group='team'] button.join").ClickAsync();
        await cli.WaitForLineAsync("[STATUS] webby joined #team", s_wait);
        await cli.WriteLineAsync("send #team hello first browser");
        await Expect(first.Locator("#messages .message.in").Filter(new() { HasText = "hello first browser" })).ToHaveCountAsync(1);

        // webby opens the client in another browser: a new device, which learns the group at login. cli has
        // recorded webby as holding its key, so its next message is one this device has no key for.
        await using IBrowserContext otherBrowser = await pageOnServer.Browser.NewContextAsync();
        IPage second = await otherBrowser.NewPageAsync();
        await LogInAsWebbyAsync(second, pageOnServer.WebPort);
        await second.ClickAsync("#contacts li[data-group='team']");
        await cli.WriteLineAsync("send #team the new browser misses this one");
        await Expect(second.Locator("#messages .message.failed").Filter(new() { HasText = "Asking that device for it" })).ToHaveCountAsync(1);
        // The request reaches cli from the new device, which cli announces, and cli answers it from its receipts' loop.
        await cli.WaitForLineAsync("[STATUS] webby has a new device", s_wait);
        await second.WaitForFunctionAsync("() => Object.keys(window.parley.app.device.s.senderKeys).length === 1", null, new() { Timeout = 60_000 });
        Assert.Equal(1, await second.EvaluateAsync<int>($"() => {PageGroups}.keyRequestsSent.asks"));

        await cli.WriteLineAsync("send #team and now both browsers read along");
        await Expect(second.Locator("#messages .message.in").Filter(new() { HasText = "and now both browsers read along" }).Locator(".from")).ToHaveTextAsync("cli");
        await Expect(first.Locator("#messages .message.in").Filter(new() { HasText = "and now both browsers read along" })).ToHaveCountAsync(1);
        await Expect(first.Locator("#messages .message.failed")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Parley_chat_on_a_members_new_device_asks_the_page_for_its_key_and_reads_what_follows()
    {
        await using PageOnServer pageOnServer = await PageOnServer.StartAsync();
        IPage page = pageOnServer.Page;
        await LogInAsWebbyAsync(page, pageOnServer.WebPort);
        await using ParleyProcess desktop = StartChat(pageOnServer.Temp, "cli", pageOnServer.Port);
        await desktop.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
        await PageMakesPalsWithCliAsync(page, desktop);

        // cli logs in from a second home: a new device, which learns at login the group it was not there for.
        await using ParleyProcess laptop = StartChat(pageOnServer.Temp, "cli", pageOnServer.Port, home: "home-cli-laptop");
        await laptop.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
        await laptop.WaitForLineAsync("[STATUS] This device now knows #pals (joined before it was set up, or on another device)", s_wait);
        await page.FillAsync("#message-input", "the laptop misses this one");
        await page.PressAsync("#message-input", "Enter");
        await laptop.WaitForLineAsync("[STATUS] A message in #pals from webby could not be read here: this device has no key from webby's device yet", s_wait);
        await desktop.WaitForLineAsync("[#pals] webby: the laptop misses this one", s_wait);
        // The page answers the laptop's request with its current key, to the laptop alone.
        await page.WaitForFunctionAsync($"() => {PageGroups}.keyRequestsSent.answers === 1", null, new() { Timeout = 60_000 });

        await page.FillAsync("#message-input", "and now the laptop reads along");
        await page.PressAsync("#message-input", "Enter");
        await laptop.WaitForLineAsync("[#pals] webby: and now the laptop reads along", s_wait);
        await desktop.WaitForLineAsync("[#pals] webby: and now the laptop reads along", s_wait);
        // The page handed its key to a device it had never seen: it says so in cli's conversation, as parley chat would,
        // counted unread so the contact list shows it.
        await Expect(page.Locator("#contacts li[data-user='cli'] .unread")).ToHaveTextAsync("1");
        await page.ClickAsync("#contacts li[data-user='cli']");
        await Expect(page.Locator("#messages .message.notice").Filter(new() { HasText = "cli has a new device (" })).ToHaveCountAsync(1);
    }

    /// <summary>
    /// key-requests.js as SenderKeyRequestBoundsTests has SenderKeyRequests: a request that never left
    /// (refused, or pushed out of the queue) does not count as asked, so the next message asks again.
    /// </summary>
    [Fact]
    public async Task The_page_asks_again_for_a_key_whose_request_never_left()
    {
        JsonElement result = await ServedPage.EvaluateAsync("""
            async () => {
              const { SenderKeyRequests } = await import('/js/e2e/key-requests.js');
              let t = 0;
              const requests = new SenderKeyRequests(() => t);
              const want = (i, device = 'd1') => ({ groupId: '00112233445566778899aabbccddeeff', user: 'alice', device, keyId: i });
              const out = [requests.wantAsk(want(1))];
              requests.askNotSent(requests.takeAsks()[0]);
              out.push(requests.wantAsk(want(2)), requests.wantAsk(want(3)));
              for (let i = 0; i < 70; i++) { t += 2000; requests.wantAnswer(want(i, `device-${i}`)); }
              t += 2000;
              out.push(requests.wantAnswer(want(69, 'device-69')), requests.wantAnswer(want(0, 'device-0')));
              return out.map(String);
            }
            """);
        Assert.Equal(["asked", "asked", "askedBefore", "false", "true"], result.EnumerateArray().Select(e => e.GetString()));
    }
}
