using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Parley.Cli.Logging;
using Parley.Client;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>The server's log lines: one clean line beside the [SERVER] lines, or JSON, to stderr or a file (issue 14).</summary>
public partial class ServerLogTests
{
    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private const int Sigterm = 15;

    /// <summary>Starts `parley server`, logs alice in (registering her), stops the server and returns its output.</summary>
    private static async Task<ParleyProcess> RunServerWithOneLoginAsync(TempDirectory temp, params string[] extra)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, ["server", "--port", "0", "--data", "data", "--password-iterations", "1000", .. extra]);
        int port = int.Parse(PortLine().Match(await server.WaitForLineAsync("[SERVER] Started on")).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        await using (ChatClient client = await ChatClient.ConnectAsync("localhost", port, new(new TestServer.TrustAnyServer())).WithTimeout())
        {
            Assert.True((await client.LoginAsync("alice", "alice's long passphrase", null, register: true).WithTimeout()).Success);
            await client.ListAsync().WithTimeout();
            await client.CloseAsync();
        }
        Assert.Equal(0, Kill(server.ProcessId, Sigterm));
        Assert.Equal(0, await server.WaitForExitAsync());
        return server;
    }

    [Fact]
    public async Task By_default_log_lines_are_short_lines_in_the_servers_own_style()
    {
        using TempDirectory temp = new();
        await using ParleyProcess server = await RunServerWithOneLoginAsync(temp);
        Assert.Matches(@"(?m)^\[SERVER\] \d\d:\d\d:\d\d alice logged in from 127\.0\.0\.1", server.Stderr);
        Assert.Matches(@"(?m)^\[SERVER\] \d\d:\d\d:\d\d Registered new user alice", server.Stderr);
        Assert.DoesNotContain("info:", server.Stderr);
        Assert.DoesNotContain("Parley.Server[", server.Stderr);
        Assert.DoesNotContain("\u001b", server.Stderr);
    }

    [Fact]
    public async Task Json_logs_go_to_a_file_one_object_per_line()
    {
        using TempDirectory temp = new();
        await using ParleyProcess server = await RunServerWithOneLoginAsync(temp, "--log-format", "json", "--log-file", "logs/server.jsonl");
        string[] lines = File.ReadAllLines(temp.File("logs/server.jsonl"));
        Assert.NotEmpty(lines);
        List<JsonElement> entries = [.. lines.Select(line => JsonDocument.Parse(line).RootElement)];
        JsonElement login = Assert.Single(entries, e => e.GetProperty("message").GetString()!.EndsWith("logged in from 127.0.0.1", StringComparison.Ordinal));
        Assert.Equal("information", login.GetProperty("level").GetString());
        Assert.Equal("alice", login.GetProperty("User").GetString());
        Assert.DoesNotContain("logged in", server.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(temp.File("logs/server.jsonl")));
    }

    [Theory]
    [InlineData(LogFormat.Text)]
    [InlineData(LogFormat.Json)]
    public void Untrusted_text_in_a_log_line_is_sanitised(LogFormat format)
    {
        StringWriter output = new();
        using (LineLoggerProvider provider = new(output, format, TimeProvider.System, ownsWriter: false))
        {
            ILogger logger = provider.CreateLogger("Parley.Server");
            // A caller that forgot the sanitiser: the line must still carry no escape or newline.
            logger.LogInformation("Failed login for {User}", "mallory\u001b[2J\nfake line");
        }
        string written = output.ToString().TrimEnd('\n');
        Assert.DoesNotContain("\u001b", written);
        Assert.DoesNotContain("\\u001b", written);
        Assert.Single(written.Split('\n'));
        Assert.Contains("mallory?[2J?fake line", written);
    }

    [GeneratedRegex(@"Started on [^:]+:(\d+)")]
    private static partial Regex PortLine();
}
