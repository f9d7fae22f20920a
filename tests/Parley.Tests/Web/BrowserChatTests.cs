using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// The page in a real chromium against the real <c>parley server --web-port</c>, and a real
/// <c>parley chat</c>: end-to-end messages both ways, offline delivery, equal safety numbers, the
/// server-key question with the CLI's fingerprint, and reconnection after a server restart.
/// </summary>
public partial class BrowserChatTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    /// <summary>Opens the page, logs in as webby (registered on first use) and trusts the server key.</summary>
    private static async Task LogInAsWebbyAsync(IPage page, int webPort)
    {
        await page.GotoAsync($"http://localhost:{webPort}/");
        await page.FillAsync("#username", "webby");
        await page.FillAsync("#password", "webby's long passphrase");
        await page.ClickAsync("#login-button");
        await page.ClickAsync("#trust-yes");
        await Expect(page.Locator("#me")).ToHaveTextAsync("webby");
    }

    [Fact]
    public async Task A_browser_user_and_parley_chat_talk_end_to_end_both_ways_offline_and_across_a_server_restart()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, string fingerprint, int port, int webPort) = await StartServerAsync(temp);
        try
        {
            await using Browser browser = await Browser.LaunchAsync();
            await using IBrowserContext context = await browser.NewContextAsync();
            IPage page = await context.NewPageAsync();
            List<string> console = [];
            page.Console += (_, m) => console.Add(m.Text);
            await page.GotoAsync($"http://localhost:{webPort}/");

            // Registration in the page; the trust question shows the fingerprint exactly as the server printed it.
            await page.FillAsync("#username", "webby");
            await page.FillAsync("#password", "webby's long passphrase");
            await page.ClickAsync("#login-button");
            await Expect(page.Locator("#trust-fingerprint")).ToHaveTextAsync(fingerprint);
            await Expect(page.Locator("#trust-algorithm")).ToHaveTextAsync("ed25519");
            await page.ClickAsync("#trust-yes");
            await Expect(page.Locator("#me")).ToHaveTextAsync("webby");
            // The page asked for the compact form and the server agreed (PROTOCOL.md §11.9): the messages below travel in it.
            Assert.Equal(1, await CompactAgreedAsync(page));

            await using ParleyProcess cli = StartChat(temp, "cli", port);
            await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);

            // parley chat → browser. The sender becomes a contact, watched (PROTOCOL.md §11.6): online.
            await cli.WriteLineAsync("send webby hello from the terminal");
            await cli.WaitForLineAsync("[STATUS] Message delivered to webby", s_wait);
            await Expect(page.Locator("#contacts li[data-user='cli'] .unread")).ToHaveTextAsync("1");
            await Expect(page.Locator("#contacts li[data-user='cli'] .dot.online")).ToBeVisibleAsync();
            await page.ClickAsync("#contacts li[data-user='cli']");
            await Expect(page.Locator("#messages .message.in .text").Last).ToHaveTextAsync("hello from the terminal");
            await Expect(page.Locator("#contacts li[data-user='cli'] .unread")).ToHaveCountAsync(0);

            // browser → parley chat.
            await page.FillAsync("#message-input", "hello from the browser");
            await page.ClickAsync("#send-button");
            await cli.WaitForLineAsync("[NEW MESSAGE] From webby: hello from the browser", s_wait);
            await Expect(page.Locator("#messages .message.out .status").Last).ToHaveAttributeAsync("data-status", "delivered");

            // Safety numbers: the same 60 digits on both sides.
            await cli.WriteLineAsync("verify webby");
            string onCli = Digits(await cli.WaitForLineAsync("[VERIFY] webby device", s_wait));
            await page.ClickAsync("#safety-button");
            string onPage = Regex.Replace(await page.Locator("#safety-numbers .digits").First.TextContentAsync() ?? "", "[^0-9]", "");
            Assert.Equal(60, onCli.Length);
            Assert.Equal(onCli, onPage);
            await page.ClickAsync("#safety-close");
            // The README's screenshot comes from here: PARLEY_SCREENSHOT_DIR=$PWD/docs dotnet test --filter BrowserChatTests
            if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOT_DIR") is { Length: > 0 } screenshots)
            {
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetFullPath(screenshots), "web-client.png") });
            }

            // Offline delivery to the browser: the page is closed, a message waits, the page comes back without a password.
            await page.CloseAsync();
            await WaitUntilOfflineAsync(cli, "webby");
            await cli.WriteLineAsync("send webby while you were away");
            await cli.WaitForLineAsync("[STATUS] webby is offline; message queued for delivery", s_wait);
            page = await context.NewPageAsync();
            await page.GotoAsync($"http://localhost:{webPort}/");
            await Expect(page.Locator("#me")).ToHaveTextAsync("webby");
            await Expect(page.Locator("#contacts li[data-user='cli'] .unread")).ToHaveTextAsync("1");
            await page.ClickAsync("#contacts li[data-user='cli']");
            await Expect(page.Locator("#messages .message.in .text").Last).ToHaveTextAsync("while you were away");
            // History from before the reload is still there.
            await Expect(page.Locator("#messages .message.in .text").First).ToHaveTextAsync("hello from the terminal");

            // Offline delivery to parley chat; its leaving is announced to the page, not polled.
            await Expect(page.Locator("#contacts li[data-user='cli'] .dot.online")).ToBeVisibleAsync();
            await cli.WriteLineAsync("quit");
            Assert.Equal(0, await cli.WaitForExitAsync());
            await Expect(page.Locator("#contacts li[data-user='cli'] .dot.online")).ToHaveCountAsync(0);
            await Expect(page.Locator("#peer-status")).ToHaveTextAsync("offline");
            await page.FillAsync("#message-input", "for when you are back");
            await page.ClickAsync("#send-button");
            await Expect(page.Locator("#messages .message.out .status").Last).ToHaveAttributeAsync("data-status", "queued");

            // The server restarts on the same ports and data: the page says so, and reconnects on its own.
            server.Kill();
            await server.WaitForExitAsync();
            await server.DisposeAsync();
            // The page shows "Connection lost" at once and, 0.5 s later, "Could not reconnect" for
            // each failed retry: a test slowed by a busy machine may first look after that.
            await Expect(page.Locator("#banner")).ToContainTextAsync(new Regex("Connection lost|Could not reconnect"));
            (server, _) = await StartServerAsync(temp, port, webPort);
            await Expect(page.Locator("#banner")).ToBeHiddenAsync(new LocatorAssertionsToBeHiddenOptions { Timeout = 60_000 });
            Assert.Equal(1, await CompactAgreedAsync(page)); // asked again on the new connection

            await using ParleyProcess cliAgain = StartChat(temp, "cli", port);
            await cliAgain.WaitForLineAsync("[NEW MESSAGE] From webby: for when you are back", s_wait);
            await cliAgain.WriteLineAsync("send webby welcome back");
            await Expect(page.Locator("#messages .message.in .text").Last).ToHaveTextAsync("welcome back");
            await cliAgain.WriteLineAsync("quit");
            Assert.Equal(0, await cliAgain.WaitForExitAsync());
            Assert.DoesNotContain(console, line => line.Contains("not handled", StringComparison.Ordinal));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>Asks parley chat who is online until <paramref name="user"/> is not: the server has seen the page's socket close.</summary>
    private static async Task WaitUntilOfflineAsync(ParleyProcess chat, string user)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            await chat.WriteLineAsync("list");
            string online = await chat.WaitForLineAsync("[ONLINE USERS]", s_wait);
            if (!online.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).Contains(user))
            {
                return;
            }
        }
        Assert.Fail($"{user} still shows as online after its page was closed");
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    /// <summary>The compact form's version the page's connection agreed at login; 0: JSON only.</summary>
    internal static Task<int> CompactAgreedAsync(IPage page) => page.EvaluateAsync<int>("() => window.parley.app.messenger?.compact ?? 0");

    /// <summary>
    /// A server on ports it chose itself (a port found free beforehand could be taken by any socket
    /// before the server bound it: "address already in use" failed a CI run), the fingerprint it
    /// printed and both ports.
    /// </summary>
    internal static async Task<(ParleyProcess Server, string Fingerprint, int Port, int WebPort)> StartServerAsync(TempDirectory temp)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--host", "localhost", "--port", "0", "--web-port", "0", "--data", "data");
        // In the order the server prints them.
        string started = await server.WaitForLineAsync("[SERVER] Started on localhost:", s_wait);
        string fingerprint = (await server.WaitForLineAsync("[SERVER] Identity", s_wait)).Split(' ')[^1];
        string web = await server.WaitForLineAsync("[SERVER] Web client on http://localhost:", s_wait);
        await server.WaitForLineAsync("[SERVER] Waiting for connections...", s_wait);
        int port = int.Parse(Regex.Match(started, @"localhost:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        int webPort = int.Parse(Regex.Match(web, @"localhost:(\d+)/").Groups[1].Value, CultureInfo.InvariantCulture);
        return (server, fingerprint, port, webPort);
    }

    /// <summary>The server again on the ports of an earlier run (a restart), and the fingerprint it printed.</summary>
    internal static async Task<(ParleyProcess Server, string Fingerprint)> StartServerAsync(TempDirectory temp, int port, int webPort)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--host", "localhost", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--web-port", webPort.ToString(CultureInfo.InvariantCulture), "--data", "data");
        string fingerprint = (await server.WaitForLineAsync("[SERVER] Identity", s_wait)).Split(' ')[^1];
        await server.WaitForLineAsync("[SERVER] Web client on http://localhost:" + webPort.ToString(CultureInfo.InvariantCulture), s_wait);
        await server.WaitForLineAsync("[SERVER] Waiting for connections...", s_wait);
        return (server, fingerprint);
    }

    /// <param name="home">Another PARLEY_HOME than the user's first: the same user on a new device.</param>
    internal static ParleyProcess StartChat(TempDirectory temp, string user, int port, string? home = null)
    {
        File.WriteAllText(temp.File($"{user}.password"), $"{user}'s long passphrase\n");
        Dictionary<string, string> environment = new() { ["PARLEY_HOME"] = temp.File(home ?? $"home-{user}") };
        return ParleyProcess.Start(temp.Path, environment, "chat", "--user", user, "--host", "localhost", "--port",
            port.ToString(CultureInfo.InvariantCulture), "--password-file", temp.File($"{user}.password"), "--trust-new", "--register");
    }

    private static string Digits(string verifyLine) => Regex.Replace(verifyLine[(verifyLine.LastIndexOf(':') + 1)..], "[^0-9]", "");
}
