using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Parley.Server.Web;
using Parley.Tests.Support;

namespace Parley.Tests.Web;

/// <summary>
/// The page against a server that lies (ScriptedServer: the real channel, a messenger the test
/// writes). What such a server says must not open another user's records, leave a connection open
/// behind a failed login, switch the compact form on unasked, make later rows look seen, stop the
/// drawing of a conversation, or be read from a WebSocket message holding more than one frame.
/// </summary>
public class BrowserHostileServerTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    private sealed class Setup : IAsyncDisposable
    {
        public required TestServer Files { get; init; }
        public required Browser Browser { get; init; }
        public required IBrowserContext Context { get; init; }
        public required IPage Page { get; init; }
        public List<ScriptedServer> Connections { get; } = [];

        public async ValueTask DisposeAsync()
        {
            await Context.DisposeAsync();
            await Browser.DisposeAsync();
            await Files.DisposeAsync();
        }
    }

    /// <summary>The real server serves the page's files; its channel is the scripted one. Logs in as <paramref name="user"/>.</summary>
    private static async Task<Setup> LogInAsync(string user, Func<JsonObject, ScriptedServer, IEnumerable<JsonObject>> answer)
    {
        TestServer files = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 } });
        Browser browser = await Browser.LaunchAsync();
        IBrowserContext context = await browser.NewContextAsync();
        IPage page = await context.NewPageAsync();
        Setup setup = new() { Files = files, Browser = browser, Context = context, Page = page };
        await ScriptedServer.RouteAsync(page, answer, server => { lock (setup.Connections) { setup.Connections.Add(server); } });
        await page.GotoAsync($"http://127.0.0.1:{files.Server.WebPort}/");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", "a long enough passphrase");
        await page.ClickAsync("#login-button");
        await page.ClickAsync("#trust-yes");
        return setup;
    }

    [Fact]
    public async Task A_login_result_for_another_user_opens_nothing_and_the_connection_ends()
    {
        await using Setup setup = await LogInAsync("victim", (request, _) => ScriptedServer.Honest(request, ScriptedServer.LoginResult("mallory")));
        await Assertions.Expect(setup.Page.Locator("#login-error")).ToHaveTextAsync(
            "The server logged this page in as \"mallory\", not \"victim\": nothing was opened. The server may be misbehaving.");
        await setup.Connections[0].Closed.Task.WaitAsync(s_wait);
        Assert.True(await setup.Page.EvaluateAsync<bool>("() => window.parley.app.messenger === null && window.parley.app.device === null"));
    }

    [Fact]
    public async Task A_refusal_after_the_login_ends_that_connection_and_lets_no_row_wait_forever()
    {
        await using Setup setup = await LogInAsync("victim", (request, server) => (string?)request["type"] == "publish_keys"
            ? [new JsonObject { ["type"] = "error", ["ref"] = request["ref"]!.DeepClone(), ["code"] = "internal", ["message"] = "keys refused" }]
            : ScriptedServer.Honest(request, ScriptedServer.LoginResult("victim")));
        await Assertions.Expect(setup.Page.Locator("#login-error")).ToHaveTextAsync("keys refused");
        await setup.Connections[0].Closed.Task.WaitAsync(s_wait);
        Assert.True(await setup.Page.EvaluateAsync<bool>("() => window.parley.app.messenger === null"));
    }

    [Fact]
    public async Task Lies_after_login_change_nothing_they_should_not()
    {
        List<long> acknowledged = [];
        TaskCompletionSource fourAcknowledged = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using Setup setup = await LogInAsync("victim", (request, _) =>
        {
            if ((string?)request["type"] == "ack")
            {
                lock (acknowledged)
                {
                    acknowledged.AddRange(request["messageIds"]!.AsArray().Select(id => (long)id!));
                    if (acknowledged.Contains(4)) fourAcknowledged.TrySetResult();
                }
            }
            return ScriptedServer.Honest(request, ScriptedServer.LoginResult("victim"));
        });
        IPage page = setup.Page;
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("victim");
        ScriptedServer server = setup.Connections[0];

        // A login result nobody asked for, agreeing the compact form: ignored, and said so.
        server.Send(new JsonObject { ["type"] = "login_result", ["success"] = true, ["user"] = "victim", ["compact"] = 1 });
        await Assertions.Expect(page.Locator("#banner")).ToHaveTextAsync("the server sent a login result no login asked for");
        Assert.Equal(0, await page.EvaluateAsync<int>("() => window.parley.app.messenger.compact"));

        // A row whose id is not a whole number JavaScript holds exactly is not taken (it would make
        // later ids look seen; a server can withhold rows anyway, but not by this); one with a time
        // outside the calendar is shown at its arrival; the conversation still draws what follows.
        static JsonObject Row(long id, long timestamp) => new()
        {
            ["type"] = "message", ["messageId"] = id, ["from"] = "eve", ["timestamp"] = timestamp,
            ["contentType"] = "text/plain; charset=utf-8", ["body"] = Convert.ToBase64String("plain"u8),
        };
        server.Send(Row(10_000_000_000_000_001, 1_700_000_000_000));
        server.Send(Row(3, 100_000_000_000_000_000));
        server.Send(Row(4, 1_700_000_000_000));
        await page.ClickAsync("#contacts li[data-user='eve']");
        await Assertions.Expect(page.Locator("#messages .message.in")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#messages .message.in .text").First).ToHaveTextAsync("A message from eve was not end-to-end encrypted and is not shown.");
        // Acknowledged in order: 3 and 4 (the ack of 4 comes after any of the rows before it), never the made-up id.
        await fourAcknowledged.Task.WaitAsync(s_wait);
        lock (acknowledged)
        {
            Assert.Equal([3, 4], acknowledged);
        }

        // Two records in one WebSocket message: not one frame, so the channel ends (malformed) and the page reconnects.
        server.SendRaw([.. server.Seal(new JsonObject { ["type"] = "pong" }), .. server.Seal(new JsonObject { ["type"] = "pong" })]);
        await server.Closed.Task.WaitAsync(s_wait);
        await page.WaitForFunctionAsync("() => window.parley.app.connected", null, new() { Timeout = 60_000 });
        Assert.True(setup.Connections.Count >= 2, "the page did not reconnect");
    }

    /// <summary>
    /// A server streaming KeyUpdate records: the page takes 32 in a row and ends the channel at the
    /// 33rd (PROTOCOL.md §6.4), then connects again, as the C# clients and the server do.
    /// </summary>
    [Fact]
    public async Task Thirty_three_key_updates_in_a_row_end_the_channel_and_the_page_reconnects()
    {
        await using Setup setup = await LogInAsync("victim", (request, _) => ScriptedServer.Honest(request, ScriptedServer.LoginResult("victim")));
        IPage page = setup.Page;
        await page.WaitForFunctionAsync("() => window.parley.app.connected", null, new() { Timeout = 60_000 });
        ScriptedServer server;
        lock (setup.Connections)
        {
            server = setup.Connections[^1];
        }
        server.SendKeyUpdates(33);
        await server.Closed.Task.WaitAsync(s_wait);
        await page.WaitForFunctionAsync("() => window.parley.app.connected", null, new() { Timeout = 60_000 });
        Assert.True(setup.Connections.Count >= 2, "the page did not reconnect");
    }
}
