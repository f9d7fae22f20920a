using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// Groups on the page, against real <c>parley chat</c> users (PROTOCOL.md §11.7, §14): an
/// invitation answered on the page, sender keys both ways, receipts per member, a group made on
/// the page surviving a reload, the user who was removed reading nothing more. Files on the page:
/// BrowserFileTests.cs.
/// </summary>
public partial class BrowserChatTests
{
    [Fact]
    public async Task A_browser_user_accepts_an_invitation_then_reads_and_writes_the_group_end_to_end_until_removed()
    {
        await using PageOnServer pageOnServer = await PageOnServer.StartAsync();
        IPage page = pageOnServer.Page;
        await LogInAsWebbyAsync(page, pageOnServer.WebPort);

        await using ParleyProcess cli = StartChat(pageOnServer.Temp, "cli", pageOnServer.Port);
        await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
        await cli.WriteLineAsync("group create team webby");
        await cli.WaitForLineAsync("[STATUS] Invited webby to #team: they join when they accept", s_wait);

        // The invitation waits on the page, naming the inviter; it is no membership yet.
        ILocator invitation = page.Locator("#invitations li[data-group='team']");
        await Expect(invitation.Locator(".text")).ToHaveTextAsync("cli invited you to #team");
        await Expect(page.Locator("#contacts li[data-group='team']")).ToHaveCountAsync(0);
        await invitation.Locator("button.join").ClickAsync();
        await cli.WaitForLineAsync("[STATUS] webby joined #team", s_wait);
        await Expect(page.Locator("#invitations-section")).ToBeHiddenAsync();
        await Expect(page.Locator("#peer-name")).ToHaveTextAsync("#team");
        await Expect(page.Locator("#peer-status")).ToHaveTextAsync("2 members: cli, webby");

        // cli's sender key reaches the page pairwise, then one group message it can read; the page says "read" to cli alone.
        await cli.WriteLineAsync("send #team hello group");
        await cli.WaitForLineAsync("[STATUS] Message sent to #team (2 members)", s_wait);
        ILocator incoming = page.Locator("#messages .message.in");
        await Expect(incoming.Filter(new() { HasText = "hello group" }).Locator(".from")).ToHaveTextAsync("cli");
        await cli.WaitForLineAsync("[STATUS] webby read your message in #team", s_wait);

        // The page makes its own sender key, hands it to cli, and sends once for the group.
        await page.FillAsync("#message-input", "hi from the browser");
        await page.PressAsync("#message-input", "Enter");
        await cli.WaitForLineAsync("[#team] webby: hi from the browser", s_wait);
        ILocator mine = page.Locator("#messages .message.out").Filter(new() { HasText = "hi from the browser" });
        await Expect(mine.Locator(".status")).ToHaveTextAsync(" · ✓ sent to 2");
        // cli's receipts, pairwise (§14.4): "delivered" when it printed the line (not a terminal), "read" after 'read webby'.
        await Expect(mine.Locator(".receipts")).ToHaveTextAsync(" · delivered to cli");
        await cli.WriteLineAsync("read webby");
        await Expect(mine.Locator(".receipts")).ToHaveTextAsync(" · read by cli");
        // Nothing on the page is unreadable: the sender key itself is never shown.
        await Expect(page.Locator("#messages .message.failed")).ToHaveCountAsync(0);
        // The README's picture of a group comes from here: PARLEY_SCREENSHOT_DIR=$PWD/docs dotnet test --filter A_browser_user_accepts
        if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOT_DIR") is { Length: > 0 } screenshots)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetFullPath(screenshots), "web-group.png") });
        }

        // Removed: the page is told, stops sending, and what cli says afterwards is not for it.
        await cli.WriteLineAsync("group remove team webby");
        await cli.WaitForLineAsync("[STATUS] #team now has 1 members: cli (admin)", s_wait);
        await Expect(page.Locator("#messages .message.notice").Filter(new() { HasText = "cli removed you from #team; you no longer read it" })).ToHaveCountAsync(1);
        await Expect(page.Locator("#message-input")).ToBeDisabledAsync();
        await Expect(page.Locator("#peer-status")).ToHaveTextAsync("you are not a member");
        Assert.False(await page.EvaluateAsync<bool>("() => Object.values(window.parley.app.device.s.groups).some(g => g.name === 'team')"));
        // cli's next message rotates its key and hands the new one to the members left: none reaches the page.
        await cli.WriteLineAsync("send #team after you left");
        await cli.WaitForLineAsync("[STATUS] Message sent to #team (1 member)", s_wait);
        await cli.WriteLineAsync("send webby are you still there");
        await page.ClickAsync("#contacts li[data-user='cli']");
        await Expect(page.Locator("#messages .message.in").Filter(new() { HasText = "are you still there" })).ToHaveCountAsync(1);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => Object.keys(window.parley.app.device.s.senderKeys).length"));
        await page.ClickAsync("#contacts li[data-group='team']");
        await Expect(page.Locator("#messages .message").Filter(new() { HasText = "after you left" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task A_group_made_on_the_page_keeps_its_keys_across_a_reload_and_an_allowed_user_adds_without_asking()
    {
        await using PageOnServer pageOnServer = await PageOnServer.StartAsync();
        IPage page = pageOnServer.Page;
        await LogInAsWebbyAsync(page, pageOnServer.WebPort);
        await using ParleyProcess cli = StartChat(pageOnServer.Temp, "cli", pageOnServer.Port);
        await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);

        await PageMakesPalsWithCliAsync(page, cli);

        // A reload logs in again with the device token; the group, its key and its chain come back from IndexedDB:
        // the next message goes under the same key, one step on, with no new key handed out.
        const string OwnKey = "() => { const g = Object.values(window.parley.app.device.s.groups).find(g => g.name === 'pals'); return `${g.own.keyId}/${g.own.iteration}`; }";
        string before = await page.EvaluateAsync<string>(OwnKey);
        await page.ReloadAsync();
        await Expect(page.Locator("#me")).ToHaveTextAsync("webby");
        await page.ClickAsync("#contacts li[data-group='pals']");
        await page.FillAsync("#message-input", "second");
        await page.PressAsync("#message-input", "Enter");
        await cli.WaitForLineAsync("[#pals] webby: second", s_wait);
        Assert.Equal($"{before.Split('/')[0]}/{int.Parse(before.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture) + 1}", await page.EvaluateAsync<string>(OwnKey));
        await cli.WriteLineAsync("send #pals reply");
        await Expect(page.Locator("#messages .message.in").Filter(new() { HasText = "reply" })).ToHaveCountAsync(1);

        // Allowing cli on an invitation: cli's next group takes webby in at once.
        await cli.WriteLineAsync("group create other webby");
        ILocator invitation = page.Locator("#invitations li[data-group='other']");
        await invitation.Locator("button.allow").ClickAsync();
        await Expect(page.Locator("#banner")).ToHaveTextAsync("cli can now add you to groups without asking");
        await invitation.Locator("button.decline").ClickAsync();
        await Expect(page.Locator("#invitations li[data-group='other']")).ToHaveCountAsync(0);
        await cli.WriteLineAsync("group create third webby");
        await cli.WaitForLineAsync("[STATUS] Group #third created: cli (admin), webby", s_wait);
        await Expect(page.Locator("#contacts li[data-group='third']")).ToHaveCountAsync(1);
        await Expect(page.Locator("#invitations li[data-group='third']")).ToHaveCountAsync(0);
    }

    /// <summary>
    /// The page makes #pals naming cli, who is invited (not allowed yet) and accepts; then the page
    /// says "first", which cli reads: the page's sender key has reached cli's device.
    /// </summary>
    private static async Task PageMakesPalsWithCliAsync(IPage page, ParleyProcess cli)
    {
        await page.ClickAsync(".new-group summary");
        await page.FillAsync("#new-group-name", "pals");
        await page.FillAsync("#new-group-members", "cli");
        await page.ClickAsync("#new-group-form button[type=submit]");
        await Expect(page.Locator("#messages .message.notice").Filter(new() { HasText = "You created #pals; invited cli (they join when they accept)" })).ToHaveCountAsync(1);
        await cli.WaitForLineAsync("[GROUP] webby invited you to #pals; 'group accept pals' to join or 'group decline pals'", s_wait);
        await cli.WriteLineAsync("group accept pals");
        await cli.WaitForLineAsync("[STATUS] You joined #pals", s_wait);
        await Expect(page.Locator("#messages .message.notice").Filter(new() { HasText = "cli joined #pals" })).ToHaveCountAsync(1);

        await page.FillAsync("#message-input", "first");
        await page.PressAsync("#message-input", "Enter");
        await cli.WaitForLineAsync("[#pals] webby: first", s_wait);
    }
}
