using System.Text.Json;
using Microsoft.Playwright;
using Parley.Server.Web;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// The page's own modules in a real chromium, served by a real server's web transport: for tests
/// that call web/js directly (vectors, state rules) rather than click through the page.
/// </summary>
internal static class ServedPage
{
    /// <summary>Runs <paramref name="script"/> (an async arrow function) on a freshly served page and returns what it returns.</summary>
    public static async Task<JsonElement> EvaluateAsync(string script, object? argument = null)
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 } });
        await using Browser browser = await Browser.LaunchAsync();
        await using IBrowserContext context = await browser.NewContextAsync();
        IPage page = await context.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{server.Server.WebPort}/");
        return await page.EvaluateAsync<JsonElement>(script, argument);
    }
}
