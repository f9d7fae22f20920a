using Microsoft.Playwright;

namespace Parley.Tests.Web;

/// <summary>
/// Debian's chromium driven by Playwright (browser downloads are not possible here, so Playwright
/// is pointed at the installed executable: PARLEY_CHROMIUM, else chromium on the PATH). A missing
/// browser fails the test with the command that installs it; nothing is skipped.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Instance = browser;
    }

    public IBrowser Instance { get; }

    public static async Task<Browser> LaunchAsync()
    {
        string executable = FindChromium() ?? throw new InvalidOperationException(
            "The browser tests need chromium: run 'apt-get install -y chromium' (.ci/run does) or set PARLEY_CHROMIUM to its path.");
        IPlaywright playwright = await Playwright.CreateAsync();
        IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            // Root in CI has no user namespace sandbox; the pages are our own, on loopback.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        return new Browser(playwright, browser);
    }

    /// <summary>A fresh profile (its own IndexedDB) with the browser's console and errors collected for failure messages.</summary>
    public async Task<IBrowserContext> NewContextAsync(int width = 1100, int height = 760)
    {
        IBrowserContext context = await Instance.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(60_000);
        return context;
    }

    private static string? FindChromium()
    {
        if (Environment.GetEnvironmentVariable("PARLEY_CHROMIUM") is { Length: > 0 } configured)
        {
            return configured;
        }
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in new[] { "chromium", "chromium-browser" })
            {
                string candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await Instance.CloseAsync();
        _playwright.Dispose();
    }
}
