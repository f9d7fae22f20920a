using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>Bad usage through the real executable: one clear line each, exit code 2 (issue 14).</summary>
public class UsageCliTests
{
    [Fact]
    public async Task Bare_parley_prints_the_usage_and_exits_2()
    {
        using TempDirectory temp = new();
        (int code, string stdout, string stderr) = await ParleyProcess.RunAsync(temp.Path);
        Assert.Equal(2, code);
        Assert.Contains("Usage:", stderr);
        Assert.Contains("chat", stderr);
        Assert.Contains("known-hosts", stderr);
        Assert.Equal("", stdout.Trim());
    }

    [Fact]
    public async Task A_mistyped_command_gets_one_error_with_a_suggestion()
    {
        using TempDirectory temp = new();
        (int code, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "chta");
        Assert.Equal(2, code);
        string[] errors = [.. stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("parley:", StringComparison.Ordinal))];
        Assert.Equal("parley: unknown command 'chta'; did you mean 'chat'?", Assert.Single(errors).Trim());
        Assert.DoesNotContain("Required command", stderr);
    }

    [Fact]
    public async Task A_command_far_from_every_name_gets_no_suggestion()
    {
        using TempDirectory temp = new();
        (int code, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, "xylophone");
        Assert.Equal(2, code);
        Assert.Contains("parley: unknown command 'xylophone'", stderr);
        Assert.DoesNotContain("did you mean", stderr);
    }

    [Fact]
    public async Task Version_is_printed_by_v_version_and_the_version_command_alike()
    {
        using TempDirectory temp = new();
        List<string> lines = [];
        foreach (string form in new[] { "-v", "--version", "version" })
        {
            (int code, string stdout, _) = await ParleyProcess.RunAsync(temp.Path, form);
            Assert.Equal(0, code);
            lines.Add(stdout.Trim());
        }
        Assert.Matches(@"^parley \d+\.\d+\.\d+", lines[0]);
        Assert.All(lines, line => Assert.Equal(lines[0], line));
    }

    [Theory]
    [InlineData("'abc' is not a port number (1–65535)", "chat", "--port", "abc")]
    [InlineData("'0' is not a port number (1–65535)", "chat", "-p", "0")]
    [InlineData("'70000' is not a port number (0–65535)", "server", "--port", "70000")]
    [InlineData("'x' is not a port number (0–65535)", "peer", "--listen", "x")]
    [InlineData("'-5' is not a port number (1–65535)", "devices", "--port", "-5")]
    public async Task A_port_that_is_not_one_says_so_in_words(string expected, params string[] args)
    {
        using TempDirectory temp = new();
        (int code, _, string stderr) = await ParleyProcess.RunAsync(temp.Path, args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("System.", stderr);
        Assert.Contains($"parley {args[0]} --help", stderr);
    }

    [Fact]
    public async Task A_typed_port_that_is_not_one_is_asked_again()
    {
        using TempDirectory temp = new();
        int closed = ForeignListener.ClosedPort();
        await using ParleyProcess chat = ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home") },
            "chat", "--user", "alice", "--host", "127.0.0.1", "--trust-new");
        await chat.WriteLineAsync("abc");
        await chat.WriteLineAsync(closed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await chat.WaitForLineAsync("'abc' is not a port number (1–65535).");
        // The second answer was taken: the chat went on to connect (nothing listens there).
        await chat.WaitForLineAsync($"127.0.0.1:{closed}");
        Assert.Equal(3, await chat.WaitForExitAsync());
        Assert.Equal(2, chat.Stdout.Split("Server port (default: 5555):").Length - 1);
    }
}
