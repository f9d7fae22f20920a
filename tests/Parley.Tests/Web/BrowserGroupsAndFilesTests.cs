using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// Groups and files are parley chat's for now: the page recognises an invitation, a sender key, a
/// group message and a file offer that reach a browser user and says so in words, never "could not
/// be read", and a sender key is not shown at all.
/// </summary>
public partial class BrowserChatTests
{
    [Fact]
    public async Task Group_messages_and_file_offers_are_explained_on_the_page_not_reported_as_unreadable()
    {
        using TempDirectory temp = new();
        int port = FreePort(), webPort = FreePort();
        (ParleyProcess server, _) = await StartServerAsync(temp, port, webPort);
        await using (server)
        {
            await using Browser browser = await Browser.LaunchAsync();
            await using IBrowserContext context = await browser.NewContextAsync();
            IPage page = await context.NewPageAsync();
            await LogInAsWebbyAsync(page, webPort);

            await using ParleyProcess cli = StartChat(temp, "cli", port);
            await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
            await cli.WriteLineAsync("group create team webby");
            await cli.WaitForLineAsync("[STATUS] Invited webby to #team", s_wait);
            await page.ClickAsync("#contacts li[data-user='cli']");
            ILocator texts = page.Locator("#messages .message.in .text");
            // webby had not allowed cli: the page says where to answer the invitation; webby's parley chat takes it up.
            await Expect(texts.Filter(new() { HasText = "cli invited you to the group #team; groups are not in the browser client yet: accept or decline it with parley chat ('group accept team')" }))
                .ToHaveCountAsync(1);
            await using ParleyProcess webbyChat = StartChat(temp, "webby", port);
            await webbyChat.WaitForLineAsync("[CLIENT] Authenticated as webby", s_wait);
            await webbyChat.WriteLineAsync("group accept team");
            await webbyChat.WaitForLineAsync("[STATUS] You joined #team", s_wait);
            await cli.WaitForLineAsync("[STATUS] webby joined #team", s_wait);
            await cli.WriteLineAsync("send #team hello group");
            await cli.WaitForLineAsync("[STATUS] Message sent to #team (2 members)", s_wait);
            string path = temp.File("minutes.txt");
            File.WriteAllText(path, "the minutes");
            await cli.WriteLineAsync($"sendfile webby {path}");
            await cli.WaitForLineAsync("[STATUS] File offered to webby", s_wait);

            await Expect(texts.Filter(new() { HasText = "A group message or notice from cli; groups are not in the browser client yet" }).First).ToBeVisibleAsync();
            await Expect(texts.Filter(new() { HasText = "cli offered a file (minutes.txt)" })).ToHaveCountAsync(1);
            // The sender key that came pairwise before the group message is not shown, and nothing is "unreadable".
            await Expect(texts.Filter(new() { HasText = "could not be read" })).ToHaveCountAsync(0);
        }
    }
}
