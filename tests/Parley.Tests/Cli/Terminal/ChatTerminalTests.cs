using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Parley.Tests.Support;

namespace Parley.Tests.Cli.Terminal;

/// <summary>
/// `parley chat` in a real pseudo-terminal (tmux), as a user sees it (issue 14): editing keys,
/// history across runs, completion, Ctrl-C, resize, a message arriving mid-line, colour, and
/// reconnection after the server restarts on the same port. The other side is a plain `parley
/// chat` on redirected stdio, whose lines show exactly what was sent.
/// </summary>
public partial class ChatTerminalTests
{
    private const int Width = 100;
    private const int Height = 30;
    private static readonly TimeSpan s_reconnect = TimeSpan.FromSeconds(60);

    private static async Task<(ParleyProcess Server, int Port)> StartServerAsync(TempDirectory temp, int port = 0)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--port", port.ToString(CultureInfo.InvariantCulture), "--data", "data");
        string started = await server.WaitForLineAsync("[SERVER] Started on");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        return (server, int.Parse(PortPattern().Match(started).Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private static string[] ChatArgs(TempDirectory temp, string user, int port, params string[] extra)
    {
        File.WriteAllText(temp.File($"{user}.password"), $"{user}'s long passphrase\n");
        return ["chat", "--user", user, "--host", "localhost", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--password-file", temp.File($"{user}.password"), "--trust-new", "--register", .. extra];
    }

    private static Dictionary<string, string> Home(TempDirectory temp, string user, bool colour = false)
    {
        Dictionary<string, string> environment = new() { ["PARLEY_HOME"] = temp.File($"home-{user}") };
        if (!colour)
        {
            environment["NO_COLOR"] = "1";
        }
        return environment;
    }

    private static async Task<TmuxTerminal> StartTerminalChatAsync(TempDirectory temp, string user, int port, bool colour = false)
    {
        TmuxTerminal terminal = TmuxTerminal.Start(temp.Path, Home(temp, user, colour), Width, Height, ChatArgs(temp, user, port));
        await terminal.WaitForRowAsync($"{user}@localhost>");
        return terminal;
    }

    private static async Task<ParleyProcess> StartPlainChatAsync(TempDirectory temp, string user, int port, params string[] extra)
    {
        ParleyProcess chat = ParleyProcess.Start(temp.Path, Home(temp, user), ChatArgs(temp, user, port, extra));
        // With --json the line is {"type":"client","text":"Authenticated as …"}.
        await chat.WaitForLineAsync($"Authenticated as {user}");
        return chat;
    }

    /// <summary>The last row that starts with the prompt: the line being edited.</summary>
    private static string InputRow(string[] screen, string user) => screen.Last(row => row.StartsWith($"{user}@localhost>", StringComparison.Ordinal));

    private static Task<string[]> WaitForInputAsync(TmuxTerminal terminal, string user, string text) =>
        terminal.WaitForAsync(screen => InputRow(screen, user) == $"{user}@localhost> {text}".TrimEnd(), $"the input line '{text}'");

    [Fact]
    public async Task Editing_keys_move_and_delete_by_grapheme_and_the_line_sent_is_whole()
    {
        Assert.True(TmuxTerminal.Available, "tmux is needed (.ci/run installs it)");
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess bob = await StartPlainChatAsync(temp, "bob", port);
            using TmuxTerminal alice = await StartTerminalChatAsync(temp, "alice", port);

            // Backspace takes the whole emoji; Left and a letter go before the last 'o'.
            alice.Type("send bob héllo 😀x");
            alice.Keys("BSpace", "BSpace", "BSpace");
            await WaitForInputAsync(alice, "alice", "send bob héllo");
            alice.Keys("Left");
            alice.Type("Z");
            await WaitForInputAsync(alice, "alice", "send bob héllZo");
            // The cursor sits just after the Z: the prompt (17 columns), then "send bob héllZ".
            Assert.Equal("alice@localhost> send bob héllZ".Length, alice.CursorPosition().Column);
            alice.Keys("C-e");
            alice.Type(" 日本 e\u0301!");
            alice.Keys("BSpace", "BSpace");
            await WaitForInputAsync(alice, "alice", "send bob héllZo 日本");
            // Wide characters take two columns: the cursor is after both and the space after them.
            Assert.Equal("alice@localhost> send bob héllZo ".Length + 4 + 1, alice.CursorPosition().Column);
            alice.Keys("C-w");
            await WaitForInputAsync(alice, "alice", "send bob héllZo");
            alice.Keys("C-a", "Right", "Right", "Right", "Right", "Right", "C-k");
            await WaitForInputAsync(alice, "alice", "send");
            alice.Type(" bob x y z");
            alice.Keys("Home", "End", "C-u");
            await WaitForInputAsync(alice, "alice", "");
            alice.Type("send bob 😀 café ok");
            alice.Keys("Delete", "Left", "Delete", "Enter");
            await alice.WaitForRowAsync("[STATUS] Message delivered to bob");
            string received = await bob.WaitForLineAsync("[NEW MESSAGE] From alice:");
            Assert.EndsWith("From alice: 😀 café o", received);
            Assert.Matches(@"^\d\d:\d\d \[NEW MESSAGE\]", received);
        }
    }

    [Fact]
    public async Task History_comes_back_in_the_next_run_and_tab_completes_commands_and_names()
    {
        Assert.True(TmuxTerminal.Available, "tmux is needed (.ci/run installs it)");
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess bob = await StartPlainChatAsync(temp, "bob", port);
            using (TmuxTerminal alice = await StartTerminalChatAsync(temp, "alice", port))
            {
                alice.Type("lis");
                alice.Keys("Tab");
                await WaitForInputAsync(alice, "alice", "list");
                alice.Keys("Enter");
                await alice.WaitForRowAsync("[ONLINE USERS] alice, bob");
                // "bob" is known from the list now: "send b" completes to it. "se" completes to "send"
                // only, without a space, since "sendfile" starts the same way.
                alice.Type("se");
                alice.Keys("Tab");
                await WaitForInputAsync(alice, "alice", "send");
                alice.Type(" b");
                alice.Keys("Tab");
                await WaitForInputAsync(alice, "alice", "send bob");
                alice.Type("first line");
                alice.Keys("Enter");
                await alice.WaitForRowAsync("[STATUS] Message delivered to bob");
                alice.Type("quit");
                alice.Keys("Enter");
                await alice.WaitForRowAsync("[exit 0]");
            }
            string history = Directory.EnumerateFiles(temp.File("home-alice/history"), "alice", SearchOption.AllDirectories).Single();
            Assert.Equal(["list", "send bob first line", "quit"], File.ReadAllLines(history));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(history));

            using TmuxTerminal again = await StartTerminalChatAsync(temp, "alice", port);
            again.Keys("Up");
            await WaitForInputAsync(again, "alice", "quit");
            again.Keys("Up");
            await WaitForInputAsync(again, "alice", "send bob first line");
            again.Keys("Down", "Down");
            await WaitForInputAsync(again, "alice", "");
            // Several names match: Tab twice shows them.
            await using ParleyProcess bobby = await StartPlainChatAsync(temp, "bobby", port);
            again.Type("list");
            again.Keys("Enter");
            await again.WaitForRowAsync("[ONLINE USERS] alice, bob, bobby");
            again.Type("verify b");
            again.Keys("Tab", "Tab");
            await again.WaitForRowAsync("bob  bobby");
            await WaitForInputAsync(again, "alice", "verify bob");
        }
    }

    [Fact]
    public async Task Ctrl_c_exits_at_once_with_a_newline_no_stray_prompt_and_the_next_line_reaches_the_shell()
    {
        Assert.True(TmuxTerminal.Available, "tmux is needed (.ci/run installs it)");
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            using TmuxTerminal alice = await StartTerminalChatAsync(temp, "alice", port);
            alice.Type("half typed");
            await WaitForInputAsync(alice, "alice", "half typed");
            Stopwatch clock = Stopwatch.StartNew();
            alice.Keys("C-c");
            string[] screen = await alice.WaitForAsync(rows => rows.Contains("[exit 130]"), "the exit status");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"Ctrl-C took {clock.Elapsed.TotalMilliseconds} ms");
            // The half-typed line stays, and the shell's output starts on the next row, not after a prompt.
            int exitRow = Array.IndexOf(screen, "[exit 130]");
            Assert.Equal("alice@localhost> half typed", screen[exitRow - 1]);
            // The line typed right after the exit goes to the shell, not into a leftover read.
            alice.Type("next line");
            alice.Keys("Enter");
            await alice.WaitForRowAsync("[read next line]");

            // quit on an empty prompt leaves no "alice@localhost>" behind.
            using TmuxTerminal again = await StartTerminalChatAsync(temp, "alice", port);
            again.Type("quit");
            again.Keys("Enter");
            string[] after = await again.WaitForAsync(rows => rows.Contains("[exit 0]"), "the exit status");
            Assert.Equal("[CLIENT] Disconnected", after[Array.IndexOf(after, "[exit 0]") - 1]);
            Assert.DoesNotContain(after, row => row.Trim() == "alice@localhost>");
        }
    }

    [Fact]
    public async Task Ctrl_c_at_a_question_before_the_chat_exits_at_once_on_a_fresh_line()
    {
        Assert.True(TmuxTerminal.Available, "tmux is needed (.ci/run installs it)");
        using TempDirectory temp = new();
        using TmuxTerminal terminal = TmuxTerminal.Start(temp.Path, Home(temp, "nobody"), Width, Height, "chat");
        await terminal.WaitForRowAsync("Enter your username:");
        Stopwatch clock = Stopwatch.StartNew();
        terminal.Keys("C-c");
        string[] screen = await terminal.WaitForAsync(rows => rows.Contains("[exit 130]"), "the exit status");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"Ctrl-C took {clock.Elapsed.TotalMilliseconds} ms");
        Assert.Equal("Enter your username:", screen[Array.IndexOf(screen, "[exit 130]") - 1]);
    }

    [Fact]
    public async Task A_message_arriving_while_typing_goes_above_the_line_and_a_resize_redraws_a_wrapped_line()
    {
        Assert.True(TmuxTerminal.Available, "tmux is needed (.ci/run installs it)");
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess bob = await StartPlainChatAsync(temp, "bob", port);
            using TmuxTerminal alice = await StartTerminalChatAsync(temp, "alice", port);
            alice.Type("send bob a draft");
            await WaitForInputAsync(alice, "alice", "send bob a draft");
            await bob.WriteLineAsync("send alice hello while you type");
            string[] screen = await alice.WaitForAsync(rows => rows.Any(row => row.Contains("From bob: hello while you type", StringComparison.Ordinal)), "bob's message");
            Assert.Matches(@"^\d\d:\d\d \[NEW MESSAGE\] From bob: hello while you type$", screen.Single(row => row.Contains("From bob:", StringComparison.Ordinal)));
            screen = await WaitForInputAsync(alice, "alice", "send bob a draft");
            Assert.True(Array.FindIndex(screen, row => row.Contains("From bob:", StringComparison.Ordinal)) < Array.FindLastIndex(screen, row => row.StartsWith("alice@", StringComparison.Ordinal)));

            // A line longer than the terminal wraps; after narrowing and widening it reads once, whole.
            string tail = string.Concat(Enumerable.Range(0, 14).Select(i => $" word{i:00}-日本"));
            alice.Type(tail);
            string full = "alice@localhost> send bob a draft" + tail;
            await alice.WaitForAsync(_ => alice.Joined().Contains(full, StringComparison.Ordinal), "the wrapped line");
            foreach (int width in new[] { 60, 37, 100 })
            {
                alice.Resize(width, Height);
                await alice.WaitForAsync(_ => Regex.Matches(alice.Joined(), Regex.Escape(full)).Count == 1
                    && alice.Joined().TrimEnd().EndsWith(full, StringComparison.Ordinal), $"the line redrawn at {width} columns");
            }
            // The cursor is still at the end of the line: typing goes on from there.
            alice.Type("!");
            alice.Keys("Enter");
            Assert.EndsWith(tail.Trim() + "!", await bob.WaitForLineAsync("From alice: a draft"));
        }
    }

    [Fact]
    public async Task Colour_marks_tags_on_a_terminal_and_no_color_turns_it_off()
    {
        Assert.True(TmuxTerminal.Available, "tmux is needed (.ci/run installs it)");
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            using (TmuxTerminal coloured = await StartTerminalChatAsync(temp, "alice", port, colour: true))
            {
                coloured.Type("send nobody hi");
                coloured.Keys("Enter");
                await coloured.WaitForRowAsync("[ERROR]");
                Assert.Contains("\u001b[", coloured.WithEscapes().Split('\n').Single(row => row.Contains("[ERROR]", StringComparison.Ordinal)));
            }
            using TmuxTerminal plain = await StartTerminalChatAsync(temp, "alice", port, colour: false);
            plain.Type("send nobody hi");
            plain.Keys("Enter");
            await plain.WaitForRowAsync("[ERROR]");
            Assert.DoesNotContain("\u001b[", plain.WithEscapes());
        }
    }

    [Fact]
    public async Task After_the_server_restarts_on_the_same_port_the_chat_reconnects_and_sends_what_was_typed_meanwhile()
    {
        Assert.True(TmuxTerminal.Available, "tmux is needed (.ci/run installs it)");
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using ParleyProcess bob = await StartPlainChatAsync(temp, "bob", port);
        using TmuxTerminal alice = await StartTerminalChatAsync(temp, "alice", port);
        server.Kill();
        await server.WaitForExitAsync();
        await server.DisposeAsync();
        await alice.WaitForRowAsync("[CLIENT] Connection lost");
        await alice.WaitForRowAsync("reconnecting in");
        await alice.WaitForRowAsync("alice@localhost (offline)>");
        alice.Type("send bob typed while the server was down");
        alice.Keys("Enter");
        await alice.WaitForRowAsync("[CLIENT] Not connected: the message waits and is sent after reconnecting (1 waiting)");
        alice.Type("list");
        alice.Keys("Enter");
        await alice.WaitForRowAsync("[ERROR] Not connected (reconnecting)");

        (ParleyProcess restarted, int samePort) = await StartServerAsync(temp, port);
        await using (restarted)
        {
            Assert.Equal(port, samePort);
            await alice.WaitForRowAsync("[CLIENT] Reconnected to localhost:" + port + " as alice; sending 1 waiting message", s_reconnect);
            await alice.WaitForRowAsync("alice@localhost>");
            Assert.EndsWith("From alice: typed while the server was down", await bob.WaitForLineAsync("From alice:", s_reconnect));
            // The same end-to-end keys work with the new connection, both ways.
            await bob.WriteLineAsync("send alice welcome back");
            await alice.WaitForRowAsync("From bob: welcome back");
            alice.Type("quit");
            alice.Keys("Enter");
            await alice.WaitForRowAsync("[exit 0]");
        }
    }

    [Fact]
    public async Task A_script_gets_no_banner_and_json_lines_for_messages_and_statuses()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess bot = await StartPlainChatAsync(temp, "bot", port, "--json");
            await using ParleyProcess bob = await StartPlainChatAsync(temp, "bob", port);
            await bob.WriteLineAsync("send bot ping \u001b[31m");
            await bob.WaitForLineAsync("[STATUS] Message delivered to bot");
            using System.Text.Json.JsonDocument message = System.Text.Json.JsonDocument.Parse(await bot.WaitForLineAsync("\"type\":\"message\""));
            Assert.Equal("bob", message.RootElement.GetProperty("from").GetString());
            Assert.Equal("ping \u001b[31m", message.RootElement.GetProperty("text").GetString());
            Assert.True(message.RootElement.GetProperty("endToEnd").GetBoolean());
            Assert.InRange(message.RootElement.GetProperty("timestamp").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds());
            await bot.WriteLineAsync("send bob pong");
            using System.Text.Json.JsonDocument status = System.Text.Json.JsonDocument.Parse(await bot.WaitForLineAsync("\"type\":\"status\""));
            Assert.Equal("Message delivered to bob", status.RootElement.GetProperty("text").GetString());
            await bot.WriteLineAsync("send nobody x");
            await bot.WaitForLineAsync("\"type\":\"error\"");
            bot.CloseInput();
            Assert.Equal(1, await bot.WaitForExitAsync());
            // Every line a --json chat printed is one JSON object; the escape is escaped, never raw.
            foreach (string line in bot.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using System.Text.Json.JsonDocument parsed = System.Text.Json.JsonDocument.Parse(line);
                Assert.NotNull(parsed.RootElement.GetProperty("type").GetString());
            }
            Assert.DoesNotContain('\u001b', bot.Stdout);
            Assert.DoesNotContain("Secure Messaging Client", bob.Stdout);
        }
    }

    [GeneratedRegex(@"Started on [^:]+:(\d+)")]
    private static partial Regex PortPattern();
}
