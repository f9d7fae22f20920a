using System.Text.Json;
using Microsoft.Playwright;
using Parley.Client;
using Parley.Server.Web;
using Parley.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Parley.Tests.Web;

/// <summary>
/// The page's history in IndexedDB (web/js/history.js): a sealed record per page of 256 messages and
/// an index, so a message seals and writes the page it changed, not every conversation again. A
/// history kept as one record by an older page is read and saved in pages.
/// </summary>
public class BrowserHistoryTests
{
    /// <summary><see cref="PageScripts.SealedRecords"/>, and <c>changed(before, after)</c>: the history records written or deleted (<c>-name</c>) between two readings.</summary>
    private const string SealedRecords = PageScripts.SealedRecords + """
        const changed = (before, after) => [...new Set([...Object.keys(before), ...Object.keys(after)])]
          .filter(k => k.startsWith('history') && before[k] !== after[k]).map(k => after[k] === undefined ? `-${k}` : k).sort();
        """;

    /// <summary>A page on <paramref name="server"/> logged in as a new user <paramref name="user"/>, the server's key trusted.</summary>
    internal static async Task<IPage> LoggedInAsync(IBrowserContext context, TestServer server, string user)
    {
        IPage page = await context.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{server.Server.WebPort}/");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", "a long enough passphrase");
        await page.ClickAsync("#login-button");
        await page.ClickAsync("#trust-yes");
        await Expect(page.Locator("#me")).ToHaveTextAsync(user);
        return page;
    }

    [Fact]
    public async Task A_save_writes_only_the_pages_that_changed_and_an_old_one_record_history_is_read_into_pages()
    {
        JsonElement result = await ServedPage.EvaluateAsync("async () => {" + SealedRecords + """
              const { ConversationHistory, PAGE } = await import('/js/history.js');
              const store = await import('/js/store.js');
              const out = { page: PAGE };
              // Marked as contact() marks: look at the end of the conversation (and its index entry).
              const tail = name => new Map([[name, new Set()]]);
              const texts = (n, from = 0) => Array.from({ length: n }, (_, i) => ({ dir: 'in', text: `m${from + i}`, time: from + i }));
              // As an older page kept it: one record, every conversation with all its messages.
              await store.put('history:t:u', {
                cli: { name: 'cli', unread: 2, messages: texts(700) },
                '#g': { name: '#g', unread: 0, left: false, messages: texts(3) },
              });
              const h = new ConversationHistory('t:u');
              const { contacts, migrated } = await h.load();
              out.migrated = migrated;
              out.loaded = [contacts.get('cli').messages.length, contacts.get('cli').unread, contacts.get('#g').messages.length];
              await h.save(contacts, null);
              const saved = await sealedRecords();
              out.records = Object.keys(saved).filter(k => k.startsWith('history')).sort();
              out.version = (await store.get('history:t:u')).v;

              // Read back by another page's history (a reload): the same conversations.
              const again = (await new ConversationHistory('t:u').load()).contacts;
              out.sameAfterReload = JSON.stringify([...again]) === JSON.stringify([...contacts]);

              let before = await sealedRecords();
              contacts.get('cli').messages.push(...texts(1, 700));
              await h.save(contacts, tail('cli'));
              let after = await sealedRecords();
              out.oneMessage = changed(before, after);

              before = after;
              await h.save(contacts, new Map([['cli', new Set()], ['#g', new Set()]]));
              out.nothingNew = changed(before, await sealedRecords());

              // A message on the first page changed in place (a receipt): marked, its page is written, and only it.
              before = await sealedRecords();
              contacts.get('cli').messages[3].status = 'read';
              await h.save(contacts, new Map([['cli', new Set([0])]]));
              out.inPlace = changed(before, await sealedRecords());

              before = await sealedRecords();
              contacts.get('cli').unread = 0;
              await h.save(contacts, tail('cli'));
              out.unreadOnly = changed(before, await sealedRecords());

              // The oldest message dropped (as addMessage does past its bound): the first page and the index.
              before = await sealedRecords();
              const cli = contacts.get('cli');
              cli.messages.splice(0, 1); cli.base = 1;
              await h.save(contacts, tail('cli'));
              out.oldestDropped = changed(before, await sealedRecords());

              // Dropped past the first page: it is deleted.
              before = await sealedRecords();
              cli.messages.splice(0, PAGE - 1); cli.base = PAGE;
              await h.save(contacts, tail('cli'));
              out.firstPageDropped = changed(before, await sealedRecords());

              // A forgotten conversation: its pages go, whether or not it was marked.
              before = await sealedRecords();
              contacts.delete('#g');
              await h.save(contacts, new Map());
              out.forgotten = changed(before, await sealedRecords());

              const last = (await new ConversationHistory('t:u').load()).contacts;
              out.finally = [...last.keys()];
              out.finalTexts = [last.get('cli').messages.length, last.get('cli').messages[0].text, last.get('cli').messages.at(-1).text, last.get('cli').base];
              return out;
            }
            """);

        Assert.Equal(256, result.GetProperty("page").GetInt32());
        Assert.True(result.GetProperty("migrated").GetBoolean());
        Assert.Equal([700, 2, 3], result.GetProperty("loaded").EnumerateArray().Select(e => e.GetInt32()));
        const string Cli = "history-page:t:u:cli:", Group = "history-page:t:u:%23g:";
        Assert.Equal(["history-page:t:u:%23g:0", Cli + "0", Cli + "1", Cli + "2", "history:t:u"], Strings(result, "records"));
        Assert.Equal(2, result.GetProperty("version").GetInt32());
        Assert.True(result.GetProperty("sameAfterReload").GetBoolean());
        Assert.Equal([Cli + "2"], Strings(result, "oneMessage"));
        Assert.Empty(Strings(result, "nothingNew"));
        Assert.Equal([Cli + "0"], Strings(result, "inPlace"));
        Assert.Equal(["history:t:u"], Strings(result, "unreadOnly"));
        Assert.Equal([Cli + "0", "history:t:u"], Strings(result, "oldestDropped"));
        Assert.Equal(["-" + Cli + "0", "history:t:u"], Strings(result, "firstPageDropped"));
        Assert.Equal(["-" + Group + "0", "history:t:u"], Strings(result, "forgotten"));
        Assert.Equal(["cli"], Strings(result, "finally"));
        JsonElement[] final = [.. result.GetProperty("finalTexts").EnumerateArray()];
        Assert.Equal((445, "m256", "m700", 256), (final[0].GetInt32(), final[1].GetString(), final[2].GetString(), final[3].GetInt32()));
    }

    /// <summary>
    /// Real messages from a C# device to the page: 300 of them fill two pages; the next one writes
    /// only the second; after a reload every message is there, in order.
    /// </summary>
    [Fact]
    public async Task Messages_the_page_received_are_kept_in_pages_and_all_there_after_a_reload()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 } });
        await using Browser browser = await Browser.LaunchAsync();
        await using IBrowserContext context = await browser.NewContextAsync();
        IPage page = await LoggedInAsync(context, server, "reader");

        await using E2eTestDevice cli = await E2eTestDevice.ConnectAsync(server, "cli");
        for (int i = 0; i < 300; i++)
        {
            await cli.Keys.SendTextAsync(cli.Client, "reader", $"message {i}").WithTimeout();
        }
        await page.WaitForFunctionAsync("() => window.parley.app.contacts.get('cli')?.messages.length === 300", null, new() { Timeout = 60_000 });
        string pages = $$"""
            async () => { {{SealedRecords}}
              const all = await sealedRecords();
              return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('history')).map(([k, v]) => [k.replace(window.parley.app.fingerprint, 'FP'), v]));
            }
            """;
        Dictionary<string, string> before = await page.EvaluateAsync<Dictionary<string, string>>(pages);
        Assert.Equal(["history-page:FP:reader:cli:0", "history-page:FP:reader:cli:1", "history:FP:reader"], before.Keys.Order(StringComparer.Ordinal));

        await cli.Keys.SendTextAsync(cli.Client, "reader", "message 300").WithTimeout();
        await page.WaitForFunctionAsync("() => window.parley.app.contacts.get('cli')?.messages.length === 301", null, new() { Timeout = 60_000 });
        Dictionary<string, string> after = await page.EvaluateAsync<Dictionary<string, string>>(pages);
        Assert.Equal(before["history-page:FP:reader:cli:0"], after["history-page:FP:reader:cli:0"]);
        Assert.NotEqual(before["history-page:FP:reader:cli:1"], after["history-page:FP:reader:cli:1"]);

        await page.ReloadAsync();
        await Expect(page.Locator("#me")).ToHaveTextAsync("reader");
        string[] texts = await page.EvaluateAsync<string[]>("() => window.parley.app.contacts.get('cli').messages.map(m => m.text)");
        Assert.Equal(Enumerable.Range(0, 301).Select(i => $"message {i}"), texts);
        await page.ClickAsync("#contacts li[data-user='cli']");
        await Expect(page.Locator("#messages .message.in").Last).ToContainTextAsync("message 300");
    }

    /// <summary>
    /// Saves take turns: a save that reads every page of a long conversation, and a save of a new
    /// message started while it runs, end with the newer index, whichever would finish first.
    /// </summary>
    [Fact]
    public async Task A_slow_save_never_writes_an_older_index_over_a_newer_one()
    {
        JsonElement result = await ServedPage.EvaluateAsync("""
            async () => {
              const { ConversationHistory } = await import('/js/history.js');
              const texts = (n, tag) => Array.from({ length: n }, (_, i) => ({ dir: 'in', text: `${tag}${i}`, time: i, seen: false }));
              const h = new ConversationHistory('r:u');
              const contacts = new Map([['y', { name: 'y', unread: 0, messages: texts(256, 'y') }], ['x', { name: 'x', unread: 0, messages: texts(5000, 'x') }]]);
              await h.save(new Map(contacts), null);
              for (const e of contacts.get('x').messages) e.seen = true;
              const slow = h.save(new Map(contacts), new Map([['x', null]]));
              contacts.get('y').messages.push({ dir: 'in', text: 'acknowledged', time: 999 });
              const fast = h.save(new Map(contacts), new Map([['y', new Set()]]));
              await Promise.all([slow, fast]);
              const loaded = (await new ConversationHistory('r:u').load()).contacts;
              return [loaded.get('y').messages.length, loaded.get('y').messages.at(-1).text, loaded.get('x').messages.every(e => e.seen)];
            }
            """);
        JsonElement[] loaded = [.. result.EnumerateArray()];
        Assert.Equal((257, "acknowledged", true), (loaded[0].GetInt32(), loaded[1].GetString(), loaded[2].GetBoolean()));
    }

    /// <summary>
    /// A save asked for one conversation (y) whose turn comes after another conversation's oldest
    /// messages were dropped (x, as the page's budget drops them from any conversation, unmarked):
    /// it rewrites x's first page and deletes the dropped ones, so a reload shows x as the page held
    /// it, with nothing dropped come back (found by review: the index moved, the pages did not).
    /// </summary>
    [Fact]
    public async Task A_save_looks_at_every_conversation_whose_ends_moved_marked_or_not()
    {
        JsonElement result = await ServedPage.EvaluateAsync("""
            async () => {
              const { ConversationHistory } = await import('/js/history.js');
              const texts = (n, tag) => Array.from({ length: n }, (_, i) => ({ dir: 'in', text: `${tag}${i}`, time: i }));
              const h = new ConversationHistory('m:u');
              const contacts = new Map([['x', { name: 'x', unread: 0, messages: texts(600, 'x') }], ['y', { name: 'y', unread: 0, messages: texts(1, 'y') }]]);
              await h.save(new Map(contacts), null);
              const queued = h.save(new Map(contacts), new Map([['y', new Set()]]));
              const x = contacts.get('x');
              x.messages.splice(0, 300); x.base = 300;
              await queued;
              const loaded = (await new ConversationHistory('m:u').load()).contacts.get('x');
              return [loaded.base, loaded.messages.length, loaded.messages[0].text, loaded.messages.at(-1).text];
            }
            """);
        JsonElement[] x = [.. result.EnumerateArray()];
        Assert.Equal((300, 300, "x300", "x599"), (x[0].GetInt32(), x[1].GetInt32(), x[2].GetString(), x[3].GetString()));
    }

    /// <summary>
    /// A file transfer that changes a message in place (its state, its offer going) saves the page
    /// holding it, not every page of every conversation as it used to.
    /// </summary>
    [Fact]
    public async Task A_file_state_change_writes_the_page_holding_its_message_only()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 } });
        await using Browser browser = await Browser.LaunchAsync();
        await using IBrowserContext context = await browser.NewContextAsync();
        IPage page = await LoggedInAsync(context, server, "reader");
        string[] changedRecords = await page.EvaluateAsync<string[]>("async () => {" + SealedRecords + """
              const p = window.parley.files.page;
              for (const name of ['x', 'y']) {
                const c = p.contact(name);
                for (let i = 0; i < 600; i++) p.addMessage(c, { dir: 'in', text: `${name}${i}`, time: i });
              }
              const file = p.contact('x').messages[10];
              await p.save();
              const before = await sealedRecords();
              file.note = 'saved, SHA-256 verified';
              await p.save(file);
              const fp = k => k.replace(window.parley.app.fingerprint, 'FP');
              return [...changed(before, await sealedRecords()).map(fp), '|', ...window.parley.app.history.looked.map(fp)];
            }
            """);
        // Written: that page alone. Looked at: it and x's last page, as for any marked conversation
        // (it used to encode all six pages of x and y to compare them).
        Assert.Equal(["history-page:FP:reader:x:0", "|", "history-page:FP:reader:x:0", "history-page:FP:reader:x:2"], changedRecords);
    }

    /// <summary>
    /// A send's outcome is saved though another save (here a click on another conversation) ran
    /// while the send was out and took the conversation's first mark.
    /// </summary>
    [Fact]
    public async Task A_sends_outcome_survives_a_reload_when_another_save_ran_during_the_send()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 } });
        await using Browser browser = await Browser.LaunchAsync();
        await using IBrowserContext context = await browser.NewContextAsync();
        IPage page = await LoggedInAsync(context, server, "reader");
        foreach (string name in new[] { "zed", "nobody" })
        {
            await page.FillAsync("#new-contact", name);
            await page.PressAsync("#new-contact", "Enter");
        }
        await page.EvaluateAsync("""
            () => {
              document.getElementById('message-input').value = 'hello';
              document.getElementById('composer').requestSubmit();
              document.querySelector("#contacts li[data-user='zed']").click();
            }
            """);
        await page.WaitForFunctionAsync("() => window.parley.app.contacts.get('nobody')?.messages[0]?.status === 'failed'");
        // The save that follows the outcome is queued by then: wait for it.
        await page.EvaluateAsync("() => window.parley.app.history.queue");

        await page.ReloadAsync();
        await Expect(page.Locator("#me")).ToHaveTextAsync("reader");
        string[] after = await page.EvaluateAsync<string[]>("() => { const m = window.parley.app.contacts.get('nobody').messages[0]; return [m.text, m.status, m.note]; }");
        Assert.Equal(["hello", "failed", "there is no user 'nobody'"], after);
    }

    /// <summary>
    /// The budget over all conversations (web/js/history-budget.js): past it, the conversation
    /// costing most loses its oldest messages, the quiet ones keep theirs, the newest message of each
    /// stays, and a history loaded over the budget comes within it.
    /// </summary>
    [Fact]
    public async Task Past_the_budget_the_conversation_costing_most_loses_its_oldest_messages()
    {
        JsonElement result = await ServedPage.EvaluateAsync("""
            async () => {
              const { HistoryBudget, entryCost, ENTRY_COST } = await import('/js/history-budget.js');
              HistoryBudget.maxUnits = 100 * ENTRY_COST + 20000;
              const text = (n, tag) => ({ dir: 'in', text: tag.padEnd(n, '.'), time: 0 });
              const contacts = new Map([['quiet', { name: 'quiet', messages: [] }], ['flood', { name: 'flood', messages: [] }]]);
              const budget = new HistoryBudget(contacts);
              const out = { max: HistoryBudget.maxUnits };
              for (let i = 0; i < 5; i++) budget.add(contacts.get('quiet'), text(100, `q${i}`));
              out.lost = [];
              for (let i = 0; i < 40; i++) {
                const lost = budget.add(contacts.get('flood'), text(1000, `f${i}`));
                out.lost.push([...lost].map(c => c.name).join());
              }
              const sum = () => [...contacts.values()].reduce((n, c) => n + c.messages.reduce((m, e) => m + entryCost(e), 0), 0);
              out.total = [budget.total, sum()];
              out.quiet = contacts.get('quiet').messages.map(e => e.text.slice(0, 2));
              const flood = contacts.get('flood');
              out.flood = [flood.base, flood.messages.length, flood.messages[0].text.slice(0, 3), flood.messages.at(-1).text.slice(0, 3)];

              // Changed in place (receipts came, a note was set): counted again, and dropping it frees what it costs now.
              const q = contacts.get('quiet').messages[0];
              q.receipts = { alice: 'read', bob: 'delivered' }; q.note = 'x'.repeat(300);
              budget.changed(q);
              out.recounted = budget.total === sum();

              // One message larger than the whole budget: the others go, it stays (what just came is shown).
              budget.add(contacts.get('quiet'), text(200000, 'huge'));
              out.huge = [contacts.get('quiet').messages.length, flood.messages.length, contacts.get('quiet').messages[0].text.slice(0, 4)];

              // The count bound still holds, and a forgotten conversation frees what it cost.
              HistoryBudget.maxUnits = 1e9; HistoryBudget.maxMessages = 10;
              const many = { name: 'many', messages: [] };
              contacts.set('many', many);
              for (let i = 0; i < 25; i++) budget.add(many, text(1, `m${i}`));
              out.many = [many.messages.length, many.base, many.messages[0].text];
              contacts.delete('many'); budget.forgotten(many);
              out.afterForget = budget.total === sum();

              // A history loaded over the budget: the largest conversation is cut first.
              HistoryBudget.maxUnits = 10 * ENTRY_COST + 5000; HistoryBudget.maxMessages = 5000;
              const loaded = new Map([
                ['a', { name: 'a', messages: Array.from({ length: 20 }, (_, i) => text(500, `a${i}`)) }],
                ['b', { name: 'b', messages: Array.from({ length: 3 }, (_, i) => text(100, `b${i}`)) }],
              ]);
              const again = new HistoryBudget(loaded);
              const cut = [...again.withinBudget()].map(c => c.name);
              out.loaded = [cut.join(), loaded.get('a').base, loaded.get('a').messages.length, loaded.get('b').messages.length, again.total <= HistoryBudget.maxUnits];
              HistoryBudget.maxUnits = 32 * 1024 * 1024;
              return out;
            }
            """);

        int max = result.GetProperty("max").GetInt32();
        string[] lost = Strings(result, "lost");
        // The flood fits until it does not; from then on every message it adds costs it its oldest, never the quiet one's.
        Assert.Contains("flood", lost);
        Assert.All(lost, l => Assert.True(l is "" or "flood", l));
        int[] total = [.. result.GetProperty("total").EnumerateArray().Select(e => e.GetInt32())];
        Assert.Equal(total[1], total[0]);
        Assert.True(total[0] <= max, $"{total[0]} > {max}");
        Assert.Equal(["q0", "q1", "q2", "q3", "q4"], Strings(result, "quiet"));
        JsonElement[] flood = [.. result.GetProperty("flood").EnumerateArray()];
        // 32,800 units: the quiet five (5 × (128 + 2 + 100) = 1,150) and the last 28 of the flood (28 × 1,130 = 31,640).
        Assert.True(result.GetProperty("recounted").GetBoolean());
        Assert.Equal((12, 28, "f12", "f39"), (flood[0].GetInt32(), flood[1].GetInt32(), flood[2].GetString(), flood[3].GetString()));
        JsonElement[] huge = [.. result.GetProperty("huge").EnumerateArray()];
        Assert.Equal((1, 1, "huge"), (huge[0].GetInt32(), huge[1].GetInt32(), huge[2].GetString()));
        JsonElement[] many = [.. result.GetProperty("many").EnumerateArray()];
        Assert.Equal((10, 15, "m15"), (many[0].GetInt32(), many[1].GetInt32(), many[2].GetString()));
        Assert.True(result.GetProperty("afterForget").GetBoolean());
        JsonElement[] loaded = [.. result.GetProperty("loaded").EnumerateArray()];
        Assert.Equal(("a", 12, 8, 3, true), (loaded[0].GetString(), loaded[1].GetInt32(), loaded[2].GetInt32(), loaded[3].GetInt32(), loaded[4].GetBoolean()));
    }

    /// <summary>
    /// Real messages to the page past a lowered budget: a flooding sender's conversation loses its
    /// oldest messages, a quiet one keeps all of its, and after a reload the store holds exactly
    /// what the page held (the flood's dropped pages deleted).
    /// </summary>
    [Fact]
    public async Task A_sender_flooding_the_page_loses_their_own_oldest_messages_and_the_store_follows()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Web = new WebOptions { Port = 0 } });
        await using Browser browser = await Browser.LaunchAsync();
        await using IBrowserContext context = await browser.NewContextAsync();
        IPage page = await LoggedInAsync(context, server, "reader");
        // 320 messages of 1,000 characters cost over 1,130 each: the budget holds about the last fifty.
        await page.EvaluateAsync("async () => { (await import('/js/history-budget.js')).HistoryBudget.maxUnits = 60000; }");

        await using E2eTestDevice quiet = await E2eTestDevice.ConnectAsync(server, "quiet");
        await using E2eTestDevice flood = await E2eTestDevice.ConnectAsync(server, "flood");
        for (int i = 0; i < 3; i++)
        {
            await quiet.Keys.SendTextAsync(quiet.Client, "reader", $"quiet {i}").WithTimeout();
        }
        for (int i = 0; i < 320; i++)
        {
            await flood.Keys.SendTextAsync(flood.Client, "reader", $"flood {i} ".PadRight(1000, '~')).WithTimeout();
        }
        await page.WaitForFunctionAsync("() => window.parley.app.contacts.get('flood')?.messages.at(-1)?.text.startsWith('flood 319 ')", null, new() { Timeout = 60_000 });
        await page.EvaluateAsync("() => window.parley.app.history.queue");
        string held = """
            () => ['quiet', 'flood'].map(n => { const c = window.parley.app.contacts.get(n); return [c.base ?? 0, ...c.messages.map(m => m.text.split(' ').slice(0, 2).join(' '))].join('|'); })
            """;
        string[] before = await page.EvaluateAsync<string[]>(held);
        int units = await page.EvaluateAsync<int>("() => window.parley.app.budget.total");
        Assert.True(units <= 60000, $"{units}");
        Assert.Equal("0|quiet 0|quiet 1|quiet 2", before[0]);
        string[] floodHeld = before[1].Split('|');
        int floodBase = int.Parse(floodHeld[0]);
        Assert.InRange(floodHeld.Length - 1, 40, 53);
        Assert.Equal(Enumerable.Range(floodBase, 320 - floodBase).Select(i => $"flood {i}"), floodHeld[1..]);

        string pages = $$"""
            async () => { {{SealedRecords}}
              return Object.keys(await sealedRecords()).filter(k => k.includes(':flood:')).map(k => +k.split(':').at(-1)).sort((a, b) => a - b);
            }
            """;
        int[] floodPages = await page.EvaluateAsync<int[]>(pages);
        // What is left is on page 1 only: page 0 went with the messages dropped from it.
        Assert.Equal([1], floodPages);

        // The flood's conversation is open when a quiet message makes it lose its oldest: it is drawn again.
        await page.ClickAsync("#contacts li[data-user='flood']");
        await quiet.Keys.SendTextAsync(quiet.Client, "reader", "quiet 3").WithTimeout();
        await page.WaitForFunctionAsync("() => window.parley.app.contacts.get('quiet')?.messages.length === 4");
        int shown = await page.EvaluateAsync<int>("() => window.parley.app.contacts.get('flood').messages.length");
        Assert.Equal(floodHeld.Length - 2, shown);
        await Expect(page.Locator("#messages .message")).ToHaveCountAsync(shown);
        await page.EvaluateAsync("() => window.parley.app.history.queue");
        before = await page.EvaluateAsync<string[]>(held);

        await page.ReloadAsync();
        await Expect(page.Locator("#me")).ToHaveTextAsync("reader");
        Assert.Equal(before, await page.EvaluateAsync<string[]>(held));
    }

    private static string[] Strings(JsonElement result, string name) => [.. result.GetProperty(name).EnumerateArray().Select(e => e.GetString()!)];
}