using Parley.Cli.Terminal;
using Parley.Tests.Support;

namespace Parley.Tests.Cli.Terminal;

/// <summary>The per-account history file: owner-only, bounded in entries and bytes, no blanks or repeats.</summary>
public class InputHistoryTests
{
    [Fact]
    public void History_is_saved_owner_only_and_read_back_by_the_next_run()
    {
        using TempDirectory temp = new();
        string path = Path.Combine(temp.Path, "history", "server", "alice");
        InputHistory first = new(path);
        first.Add("list");
        first.Add("list");
        first.Add("   ");
        first.Add("send bob héllo 😀");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        Assert.Equal(["list", "send bob héllo 😀"], new InputHistory(path).Entries);
    }

    [Fact]
    public void The_oldest_entries_go_first_when_over_the_entry_or_byte_bound()
    {
        using TempDirectory temp = new();
        string path = temp.File("history");
        InputHistory byCount = new(path, maxEntries: 3);
        foreach (string line in new[] { "a", "b", "c", "d" })
        {
            byCount.Add(line);
        }
        Assert.Equal(["b", "c", "d"], byCount.Entries);
        Assert.Equal(["c", "d"], new InputHistory(path, maxEntries: 2).Entries);

        InputHistory byBytes = new(maxBytes: 10);
        byBytes.Add("12345");
        byBytes.Add("abcd");
        byBytes.Add("xy");
        Assert.Equal(["abcd", "xy"], byBytes.Entries);
    }
}
