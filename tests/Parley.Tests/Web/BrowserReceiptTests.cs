using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// Receipts between the page and a real <c>parley chat</c> (PROTOCOL.md §13.11): the page shows
/// delivered then read after the terminal user reads, parley chat hears the browser user's read
/// receipt, the toggle turns read receipts off, and the page's payload code reproduces the spec's vectors.
/// </summary>
public partial class BrowserChatTests
{
    [Fact]
    public async Task Receipts_the_page_shows_delivered_and_read_and_parley_chat_hears_the_browser_users_read_receipt()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, _, int port, int webPort) = await StartServerAsync(temp);
        await using (server)
        {
            await using Browser browser = await Browser.LaunchAsync();
            await using IBrowserContext context = await browser.NewContextAsync();
            IPage page = await context.NewPageAsync();
            await page.GotoAsync($"http://localhost:{webPort}/");

            Dictionary<string, string> vectors = PayloadVectors().Matches(File.ReadAllText(Path.Combine(Vectors.RepositoryRoot, "PROTOCOL.md")))
                .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            JsonElement computed = await page.EvaluateAsync<JsonElement>(PayloadScript);
            Assert.Equal(vectors["payload_text_hi"], computed.GetProperty("text").GetString());
            Assert.Equal(vectors["payload_receipt_read"], computed.GetProperty("receipt").GetString());
            Assert.Equal("read:000102030405060708090a0b0c0d0e0f,202122232425262728292a2b2c2d2e2f", computed.GetProperty("decoded").GetString());
            Assert.Equal("MalformedData", computed.GetProperty("trailing").GetString());

            await page.FillAsync("#username", "webby");
            await page.FillAsync("#password", "webby's long passphrase");
            await page.ClickAsync("#login-button");
            await page.ClickAsync("#trust-yes");
            await Expect(page.Locator("#me")).ToHaveTextAsync("webby");
            await using ParleyProcess cli = StartChat(temp, "cli", port);
            await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);

            // Browser → parley chat (a script): delivered at once, read when the script says so.
            await page.FillAsync("#new-contact", "cli");
            await page.ClickAsync("#new-contact-form button");
            await page.FillAsync("#message-input", "read this, terminal");
            await page.ClickAsync("#send-button");
            await cli.WaitForLineAsync("[NEW MESSAGE] From webby: read this, terminal", s_wait);
            ILocator status = page.Locator("#messages .message.out .status").Last;
            await Expect(status).ToHaveAttributeAsync("data-status", "delivered");
            await cli.WriteLineAsync("read webby");
            await cli.WaitForLineAsync("[STATUS] Marked 1 message from webby as read", s_wait);
            await Expect(status).ToHaveAttributeAsync("data-status", "read");
            await Expect(status).ToContainTextAsync("read");

            // parley chat → the browser user, whose conversation is open on a visible page: read.
            await cli.WriteLineAsync("send webby and you read this");
            await Expect(page.Locator("#messages .message.in .text").Last).ToHaveTextAsync("and you read this");
            await cli.WaitForLineAsync("[STATUS] webby read your message", s_wait);
            await Expect(page.Locator("#contacts li[data-user='cli'] .unread")).ToHaveCountAsync(0);

            // Read receipts off in the page: the next message is only "received".
            await page.ClickAsync("#read-receipts");
            await Expect(page.Locator("#read-receipts")).Not.ToBeCheckedAsync();
            await cli.WriteLineAsync("send webby this one is only received");
            await Expect(page.Locator("#messages .message.in .text").Last).ToHaveTextAsync("this one is only received");
            await cli.WaitForLineAsync("[STATUS] webby received your message", s_wait);

            // A message that arrives while another conversation is open is unread, and read when opened.
            await page.ClickAsync("#read-receipts");
            await page.FillAsync("#new-contact", "nobody");
            await page.ClickAsync("#new-contact-form button");
            await cli.WriteLineAsync("send webby later");
            await Expect(page.Locator("#contacts li[data-user='cli'] .unread")).ToHaveTextAsync("1");
            await cli.WaitForLineAsync("[STATUS] webby received your message", s_wait);
            await page.ClickAsync("#contacts li[data-user='cli']");
            await cli.WaitForLineAsync("[STATUS] webby read your message", s_wait);
            await Expect(page.Locator("#contacts li[data-user='cli'] .unread")).ToHaveCountAsync(0);

            await cli.WriteLineAsync("quit");
            Assert.Equal(0, await cli.WaitForExitAsync());
            Assert.Equal(2, Regex.Matches(cli.Stdout, Regex.Escape("[STATUS] webby read your message")).Count);
            Assert.DoesNotContain("[ERROR]", cli.Stdout, StringComparison.Ordinal);
        }
    }

    private const string PayloadScript = """
        async () => {
          const p = await import('/js/e2e/payload.js');
          const b = await import('/js/bytes.js');
          const id = start => b.hex(Uint8Array.from({ length: 16 }, (_, i) => start + i));
          const receipt = p.encodeReceipt(id(0x10), p.RECEIPT_READ, [id(0x00), id(0x20)]);
          const decoded = p.decodePayload(receipt);
          return {
            text: b.hex(p.encodeText(p.KIND_TEXT, id(0x00), 'hi')),
            receipt: b.hex(receipt),
            decoded: `${decoded.receipt.type === p.RECEIPT_READ ? 'read' : '?'}:${decoded.receipt.ids.join(',')}`,
            trailing: p.decodePayload(b.concat(receipt, Uint8Array.of(0))).error,
          };
        }
        """;

    [GeneratedRegex(@"^    (payload_[a-z_]+) = ([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex PayloadVectors();
}
