using System.Security.Cryptography;
using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// Files end to end on the page (PROTOCOL.md §11.8, §15) against real <c>parley chat</c> users,
/// both ways, pairwise and in a group: what one side sends the other saves byte for byte, through
/// a server that holds only ciphertext. The files span several chunks and end in a short one.
/// </summary>
public partial class BrowserChatTests
{
    [Fact]
    public async Task Parley_chat_and_the_page_send_each_other_files_that_arrive_byte_for_byte()
    {
        await using PageOnServer pageOnServer = await PageOnServer.StartAsync();
        IPage page = pageOnServer.Page;
        await LogInAsWebbyAsync(page, pageOnServer.WebPort);
        await using ParleyProcess cli = StartChat(pageOnServer.Temp, "cli", pageOnServer.Port);
        await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);

        // parley chat → page: offered, then saved on the Save button as the browser's own download.
        byte[] report = RandomNumberGenerator.GetBytes(200_000);
        string reportPath = pageOnServer.Temp.File("report.bin");
        await File.WriteAllBytesAsync(reportPath, report);
        await cli.WriteLineAsync($"sendfile webby {reportPath}");
        await cli.WaitForLineAsync("[STATUS] File offered to webby", s_wait);
        await page.ClickAsync("#contacts li[data-user='cli']");
        ILocator offer = page.Locator("#messages .message.in").Filter(new() { HasText = "cli offers report.bin (195.3 KiB)" });
        await Expect(offer).ToHaveCountAsync(1);
        byte[] saved = await SaveOfferAsync(page, offer, "report.bin");
        Assert.Equal(SHA256.HashData(report), SHA256.HashData(saved));
        Assert.Equal(report.Length, saved.Length);
        await Expect(offer.Locator(".file-state")).ToHaveTextAsync(" · saved, SHA-256 verified");
        // The key went with the offer: nothing is left to save again.
        await Expect(offer.Locator("button.save-file")).ToHaveCountAsync(0);
        Assert.Equal(0, await page.EvaluateAsync<int>(
            "() => window.parley.app.contacts.get('cli').messages.filter(m => m.file && m.file.offer).length"));

        // page → parley chat: the paperclip's file input, uploaded, offered end to end, saved by savefile.
        byte[] photo = RandomNumberGenerator.GetBytes(300_000);
        string photoPath = pageOnServer.Temp.File("photo.bin");
        await File.WriteAllBytesAsync(photoPath, photo);
        await page.SetInputFilesAsync("#file-input", photoPath);
        await Expect(page.Locator("#messages .message.out .text").Filter(new() { HasText = "Sent photo.bin (293.0 KiB), encrypted end to end" })).ToHaveCountAsync(1);
        await cli.WaitForLineAsync("[FILE] webby offers photo.bin (293.0 KiB); 'savefile 1' to save it", s_wait);
        string downloads = pageOnServer.Temp.File("cli-downloads");
        Directory.CreateDirectory(downloads);
        await cli.WriteLineAsync($"savefile 1 {downloads}");
        await cli.WaitForLineAsync("; SHA-256 verified", s_wait);
        Assert.Equal(photo, await File.ReadAllBytesAsync(Path.Combine(downloads, "photo.bin")));
    }

    [Fact]
    public async Task A_file_sent_to_a_group_from_the_page_or_from_parley_chat_reaches_the_other_member()
    {
        await using PageOnServer pageOnServer = await PageOnServer.StartAsync();
        IPage page = pageOnServer.Page;
        await LogInAsWebbyAsync(page, pageOnServer.WebPort);
        await using ParleyProcess cli = StartChat(pageOnServer.Temp, "cli", pageOnServer.Port);
        await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
        await PageMakesPalsWithCliAsync(page, cli);

        byte[] minutes = RandomNumberGenerator.GetBytes(100_000);
        string minutesPath = pageOnServer.Temp.File("minutes.bin");
        await File.WriteAllBytesAsync(minutesPath, minutes);
        await page.SetInputFilesAsync("#file-input", minutesPath);
        await Expect(page.Locator("#messages .message.out").Filter(new() { HasText = "Sent minutes.bin (97.7 KiB), encrypted end to end" })).ToHaveCountAsync(1);
        await cli.WaitForLineAsync("[FILE] webby offers minutes.bin (97.7 KiB)", s_wait);
        string downloads = pageOnServer.Temp.File("cli-downloads");
        Directory.CreateDirectory(downloads);
        await cli.WriteLineAsync($"savefile 1 {downloads}");
        await cli.WaitForLineAsync("; SHA-256 verified", s_wait);
        Assert.Equal(minutes, await File.ReadAllBytesAsync(Path.Combine(downloads, "minutes.bin")));

        byte[] agenda = RandomNumberGenerator.GetBytes(60_000);
        string agendaPath = pageOnServer.Temp.File("agenda.bin");
        await File.WriteAllBytesAsync(agendaPath, agenda);
        await cli.WriteLineAsync($"sendfile #pals {agendaPath}");
        ILocator offer = page.Locator("#messages .message.in").Filter(new() { HasText = "cli offers agenda.bin (58.6 KiB)" });
        await Expect(offer.Locator(".from")).ToHaveTextAsync("cli");
        // The README's picture of files comes from here: PARLEY_SCREENSHOT_DIR=$PWD/docs dotnet test --filter A_file_sent_to_a_group
        if (Environment.GetEnvironmentVariable("PARLEY_SCREENSHOT_DIR") is { Length: > 0 } screenshots)
        {
            await page.SetViewportSizeAsync(900, 470);
            await page.EvaluateAsync("() => { const list = document.getElementById('messages'); list.scrollTop = list.scrollHeight; }");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetFullPath(screenshots), "web-files.png") });
        }
        Assert.Equal(agenda, await SaveOfferAsync(page, offer, "agenda.bin"));
    }

    /// <summary>
    /// The server is killed while the page uploads; once it is back the page goes on from the chunks
    /// the server holds (not from the start) and offers the file, which parley chat saves whole.
    /// </summary>
    [Fact]
    public async Task An_upload_cut_off_by_a_lost_connection_goes_on_from_what_the_server_holds()
    {
        await using RestartablePageOnServer setup = await RestartablePageOnServer.StartAsync();
        (TempDirectory temp, int port, IPage page) = (setup.Temp, setup.Port, setup.Page);
        string downloads = temp.File("cli-downloads");
        Directory.CreateDirectory(downloads);
        await using (ParleyProcess first = StartChat(temp, "cli", port))
        {
            // cli's keys are published; it need not be online for the offer.
            await first.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
            await first.WriteLineAsync("quit");
            Assert.Equal(0, await first.WaitForExitAsync());
        }
        await page.FillAsync("#new-contact", "cli");
        await page.PressAsync("#new-contact", "Enter");

        byte[] video = RandomNumberGenerator.GetBytes(64 * 1024 * 1024);
        string videoPath = temp.File("video.bin");
        await File.WriteAllBytesAsync(videoPath, video);
        await page.SetInputFilesAsync("#file-input", videoPath);
        // The server has taken some chunks (the progress moves only on its word), not all: cut it off there.
        await setup.KillMidwayAndRestartAsync("window.parley.files.waiting[0]?.entry.file.progress", "sending",
            page.Locator("#messages .message.out .note"), "connection lost: the upload goes on after reconnecting");

        await Expect(page.Locator("#messages .message.out .text").Filter(new() { HasText = "Sent video.bin (64.0 MiB), encrypted end to end" }))
            .ToHaveCountAsync(1, new() { Timeout = 120_000 });
        int fromChunk = await page.EvaluateAsync<int>("() => window.parley.files.resumed.find(r => r.name === 'video.bin').fromChunk");
        Assert.InRange(fromChunk, 1, 1364); // 1,366 chunks of 48 KiB: neither from the start nor already whole

        await using ParleyProcess cli = StartChat(temp, "cli", port);
        await cli.WaitForLineAsync("[FILE] webby offers video.bin (64.0 MiB)", s_wait);
        await cli.WriteLineAsync($"savefile 1 {downloads}");
        await cli.WaitForLineAsync("; SHA-256 verified", TimeSpan.FromSeconds(120));
        Assert.Equal(SHA256.HashData(video), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(downloads, "video.bin"))));
    }

    /// <summary>
    /// The server is killed while the page saves a file; once it is back the page goes on from the
    /// chunks it had verified (not from the start), and the browser is handed the whole file once.
    /// </summary>
    [Fact]
    public async Task A_save_cut_off_by_a_lost_connection_goes_on_from_the_chunks_already_verified()
    {
        await using RestartablePageOnServer setup = await RestartablePageOnServer.StartAsync();
        (TempDirectory temp, int port, IPage page) = (setup.Temp, setup.Port, setup.Page);
        await using ParleyProcess cli = StartChat(temp, "cli", port);
        await cli.WaitForLineAsync("[CLIENT] Authenticated as cli", s_wait);
        byte[] archive = RandomNumberGenerator.GetBytes(64 * 1024 * 1024);
        string archivePath = temp.File("archive.bin");
        await File.WriteAllBytesAsync(archivePath, archive);
        await cli.WriteLineAsync($"sendfile webby {archivePath}");
        await cli.WaitForLineAsync("[STATUS] File offered to webby", TimeSpan.FromSeconds(120));
        await page.ClickAsync("#contacts li[data-user='cli']");
        ILocator offer = page.Locator("#messages .message.in").Filter(new() { HasText = "cli offers archive.bin (64.0 MiB)" });

        Task<IDownload> handedOver = page.WaitForDownloadAsync(new() { Timeout = 180_000 });
        await offer.Locator("button.save-file").ClickAsync();
        await setup.KillMidwayAndRestartAsync("window.parley.app.contacts.get('cli').messages.find(m => m.file?.name === 'archive.bin')?.file.progress",
            "saving", offer.Locator(".note"), "connection lost: saving goes on after reconnecting");

        IDownload download = await handedOver;
        Assert.Equal("archive.bin", download.SuggestedFilename);
        Assert.Equal(SHA256.HashData(archive), SHA256.HashData(await File.ReadAllBytesAsync(await download.PathAsync())));
        int fromChunk = await page.EvaluateAsync<int>("() => window.parley.files.resumedSaves.find(r => r.name === 'archive.bin').fromChunk");
        Assert.InRange(fromChunk, 1, 1364);
        await Expect(offer.Locator(".file-state")).ToHaveTextAsync(" · saved, SHA-256 verified");
    }

    /// <summary>
    /// The real server in a temporary directory, with webby logged in on a chromium page, for tests
    /// that kill the server midway through a transfer and start it again on the same ports and data.
    /// </summary>
    private sealed class RestartablePageOnServer : IAsyncDisposable
    {
        private readonly Browser _browser;
        private readonly IBrowserContext _context;
        private ParleyProcess _server;

        private RestartablePageOnServer(TempDirectory temp, int port, int webPort, ParleyProcess server, Browser browser, IBrowserContext context, IPage page)
        {
            (Temp, Port, WebPort, _server, _browser, _context, Page) = (temp, port, webPort, server, browser, context, page);
        }

        public TempDirectory Temp { get; }
        public int Port { get; }
        public int WebPort { get; }
        public IPage Page { get; }

        public static async Task<RestartablePageOnServer> StartAsync()
        {
            TempDirectory temp = new();
            (ParleyProcess server, _, int port, int webPort) = await StartServerAsync(temp);
            Browser browser = await Browser.LaunchAsync();
            IBrowserContext context = await browser.NewContextAsync();
            IPage page = await context.NewPageAsync();
            RestartablePageOnServer setup = new(temp, port, webPort, server, browser, context, page);
            try
            {
                await LogInAsWebbyAsync(page, webPort);
            }
            catch
            {
                await setup.DisposeAsync();
                throw;
            }
            return setup;
        }

        /// <summary>
        /// Once the transfer whose progress <paramref name="progress"/> reads is 1 – 49 % through
        /// <paramref name="phase"/> (the share moves only on the server's word), kills the server
        /// (kill -9), waits for the page to say <paramref name="said"/>, and starts it again on the same ports and data.
        /// </summary>
        public async Task KillMidwayAndRestartAsync(string progress, string phase, ILocator note, string said)
        {
            await Page.WaitForFunctionAsync($"() => /^{phase} ([1-9]|[1-4][0-9])%$/.test({progress} ?? '')", null, new() { Timeout = 60_000, PollingInterval = 20 });
            _server.Kill();
            await _server.WaitForExitAsync();
            await _server.DisposeAsync();
            await Expect(note).ToHaveTextAsync(said);
            _server = (await StartServerAsync(Temp, Port, WebPort)).Server;
        }

        public async ValueTask DisposeAsync()
        {
            await _context.DisposeAsync();
            await _browser.DisposeAsync();
            await _server.DisposeAsync();
            Temp.Dispose();
        }
    }

    /// <summary>Presses the offer's Save button and returns the bytes the browser was handed, under the name it was handed them.</summary>
    private static async Task<byte[]> SaveOfferAsync(IPage page, ILocator offer, string name)
    {
        IDownload download = await page.RunAndWaitForDownloadAsync(() => offer.Locator("button.save-file").ClickAsync(), new() { Timeout = 60_000 });
        Assert.Equal(name, download.SuggestedFilename);
        string path = await download.PathAsync();
        return await File.ReadAllBytesAsync(path);
    }
}
