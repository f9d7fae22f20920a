using System.Globalization;
using System.Text.RegularExpressions;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>Session resumption through the real `parley` executable: the second `parley chat` resumes from the ticket the first one saved.</summary>
public partial class ResumptionEndToEndTests
{
    private const string ResumedLine = "[CLIENT] Session resumed from a ticket (the server did not sign)";

    private static ParleyProcess StartChat(TempDirectory temp, int port)
    {
        Dictionary<string, string> environment = new() { ["PARLEY_HOME"] = temp.File("home-alice") };
        return ParleyProcess.Start(temp.Path, environment,
            "chat", "--user", "alice", "--host", "localhost", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--password-file", temp.File("alice.password"), "--trust-new", "--register");
    }

    private static async Task<(ParleyProcess Server, int Port)> StartServerAsync(TempDirectory temp, params string[] extra)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, ["server", "--port", "0", "--data", "data", .. extra]);
        string started = await server.WaitForLineAsync("[SERVER] Started on");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        return (server, int.Parse(PortPattern().Match(started).Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private static async Task RunUntilAuthenticatedAsync(ParleyProcess chat)
    {
        await chat.WaitForLineAsync("[CLIENT] Authenticated as alice");
        await chat.WriteLineAsync("list");
        Assert.Equal("[ONLINE USERS] alice", (await chat.WaitForLineAsync("[ONLINE USERS]")).Trim());
        await chat.WriteLineAsync("exit");
        Assert.Equal(0, await chat.WaitForExitAsync());
    }

    [Fact]
    public async Task A_second_parley_chat_resumes_from_the_ticket_the_first_one_saved_and_saves_the_next()
    {
        using TempDirectory temp = new();
        File.WriteAllText(temp.File("alice.password"), "alice's long passphrase\n");
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using (ParleyProcess first = StartChat(temp, port))
            {
                await RunUntilAuthenticatedAsync(first);
                Assert.DoesNotContain(ResumedLine, first.Stdout);
            }
            // One ticket, for the pinned server key, owner-only like the tokens.
            string ticketFile = Assert.Single(Directory.GetFiles(temp.File("home-alice/tickets")));
            string firstTicket = File.ReadAllText(ticketFile);
            Assert.StartsWith("parley-ticket-v1\n", firstTicket);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ticketFile));
            }

            await using (ParleyProcess second = StartChat(temp, port))
            {
                await second.WaitForLineAsync(ResumedLine);
                await RunUntilAuthenticatedAsync(second);
            }
            // Used once, and replaced by the one the resumed session brought.
            Assert.NotEqual(firstTicket, File.ReadAllText(ticketFile));
        }
    }

    [Fact]
    public async Task With_no_session_tickets_the_server_issues_none_and_every_chat_runs_the_full_handshake()
    {
        using TempDirectory temp = new();
        File.WriteAllText(temp.File("alice.password"), "alice's long passphrase\n");
        (ParleyProcess server, int port) = await StartServerAsync(temp, "--no-session-tickets");
        await using (server)
        {
            for (int run = 0; run < 2; run++)
            {
                await using ParleyProcess chat = StartChat(temp, port);
                await RunUntilAuthenticatedAsync(chat);
                Assert.DoesNotContain(ResumedLine, chat.Stdout);
            }
            Assert.False(Directory.Exists(temp.File("home-alice/tickets")) && Directory.EnumerateFiles(temp.File("home-alice/tickets")).Any());
        }
    }

    [GeneratedRegex(@"Started on [^:]+:(\d+)")]
    private static partial Regex PortPattern();
}
