using System.Globalization;
using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// Devices over time in the page (PROTOCOL.md §13.10): a contact's device added after the page's
/// first session is found from <c>send_result.devices</c>, gets the same message, and the page says so.
/// </summary>
public partial class BrowserChatTests
{
    [Fact]
    public async Task A_contacts_new_device_is_found_from_the_send_result_and_gets_the_message_too()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, _, int port, int webPort) = await StartServerAsync(temp);
        await using (server)
        {
            await using Browser browser = await Browser.LaunchAsync();
            await using IBrowserContext context = await browser.NewContextAsync();
            IPage page = await context.NewPageAsync();
            await LogInAsWebbyAsync(page, webPort);

            await using ParleyProcess phone = StartChat(temp, "cli", port);
            await phone.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
            await page.FillAsync("#new-contact", "cli");
            await page.ClickAsync("#new-contact-form button");
            await page.FillAsync("#message-input", "to your one device");
            await page.ClickAsync("#send-button");
            await phone.WaitForLineAsync("[NEW MESSAGE] From webby: to your one device", s_wait);

            // cli logs in on a second device (another home): the page's session list does not know it yet.
            Dictionary<string, string> laptopHome = new() { ["PARLEY_HOME"] = temp.File("home-cli-laptop") };
            await using ParleyProcess laptop = ParleyProcess.Start(temp.Path, laptopHome, "chat", "--user", "cli", "--host", "localhost",
                "--port", port.ToString(CultureInfo.InvariantCulture), "--password-file", temp.File("cli.password"), "--trust-new");
            await laptop.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);

            await page.FillAsync("#message-input", "to both of your devices");
            await page.ClickAsync("#send-button");
            await phone.WaitForLineAsync("[NEW MESSAGE] From webby: to both of your devices", s_wait);
            await laptop.WaitForLineAsync("[NEW MESSAGE] From webby: to both of your devices", s_wait);
            await Expect(page.Locator("#messages .message.out .note").Last).ToContainTextAsync("cli has a new device");

            foreach (ParleyProcess chat in new[] { phone, laptop })
            {
                await chat.WriteLineAsync("quit");
                Assert.Equal(0, await chat.WaitForExitAsync());
            }
        }
    }
}
