using Microsoft.Playwright;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// The real <c>parley server --web-port</c> in a temporary directory with a chromium page beside
/// it (not yet logged in): the set-up of the tests where the page talks to <c>parley chat</c> users.
/// Disposed in reverse: the page's browser, then the server, then the directory.
/// </summary>
internal sealed class PageOnServer : IAsyncDisposable
{
    private PageOnServer(TempDirectory temp, int port, int webPort, ParleyProcess server, Browser browser, IBrowserContext context, IPage page)
    {
        Temp = temp;
        Port = port;
        WebPort = webPort;
        Server = server;
        Browser = browser;
        Context = context;
        Page = page;
    }

    public TempDirectory Temp { get; }

    /// <summary>The messenger's TCP port, for <c>parley chat</c>.</summary>
    public int Port { get; }

    public int WebPort { get; }

    public ParleyProcess Server { get; }

    public Browser Browser { get; }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public static async Task<PageOnServer> StartAsync()
    {
        TempDirectory temp = new();
        (ParleyProcess server, _, int port, int webPort) = await BrowserChatTests.StartServerAsync(temp);
        Browser browser = await Browser.LaunchAsync();
        IBrowserContext context = await browser.NewContextAsync();
        return new PageOnServer(temp, port, webPort, server, browser, context, await context.NewPageAsync());
    }

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
        await Browser.DisposeAsync();
        await Server.DisposeAsync();
        Temp.Dispose();
    }
}
